"""Inference with a trained network: its integer spec, an inputs file, and runs with learning off.

A trained network (``network.npz``) is lowered to the same integer network
training on chip uses (:func:`lava_eprop.engine.spec.network_spec` with the
config's fixed-point plan): float weights are quantized as at the start of
on-chip training, so a network trained with ``--engine fixed`` or ``lava``
comes back bit for bit. Learning is off: plain ``Dense`` projections in the
Lava graph (``LavaGraph(learn=False)``) and in the fast engine
(``FastNetwork(learn=False)``); masking the error alone would still move
weights by 1 (a received ``y3 = 64`` may act as 63). Both deliver the
weights as ``LearningDense`` does, after its first-step truncation
(mixed-sign 8-bit weights lose their lowest bit): :func:`effective_weights`.
The readout bias ``b_out`` is not on chip and is ignored.

The inputs file is an ``.npz`` holding ``inputs``: 0/1 spikes of shape
``[trials, T, n_in]`` (bool, integer or float dtype), ``n_in`` the network's
input count, ``1 <= T <= 100000``, and optionally ``targets`` (class labels
``[trials]`` or signals ``[trials, T, n_out]``), which :func:`task_score`
scores the readout against; other members are ignored.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from compilers import compile_plan
from lava_eprop.engine.network import FastNetwork
from lava_eprop.engine.spec import NetworkSpec, network_spec
from lava_eprop.errors import UserError
from lava_eprop.loaders import NpzArchive
from lava_eprop.network_file import TrainedNetwork
from lava_eprop.resources import check_memory, inference_estimate
from lava_eprop.tasks import Shape

MAX_STEPS = 100_000


def integer_spec(net: TrainedNetwork, classification: bool = False,
                 n_steps: int | None = None, n_err: float = 1.0) -> NetworkSpec:
    """The integer network of ``net`` (its config's plan, its weights quantized).

    ``classification`` (the error computation), ``n_steps`` (the trial length
    the firing-rate regulariser divides by) and ``n_err``
    (:func:`lava_eprop.engine.spec.error_steps`) matter only when learning.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(net.config)
    w = net.weights
    return network_spec(net.config, plan, w, w.w_in.shape[1], w.w_out.shape[0], classification,
                        n_steps=n_steps, n_err=n_err)


def load_inputs(path: str | Path, n_in: int, n_rec: int = 0, n_out: int = 0) -> np.ndarray:
    """Read and check an inputs file; return int64 spikes ``[trials, T, n_in]``.

    ``n_rec`` and ``n_out``, the network's sizes, let the memory estimate of
    running these inputs (:func:`lava_eprop.resources.inference_estimate`) refuse
    a file too large to run before it is read."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"inputs file '{path}' does not exist")
    with NpzArchive(path, ".npz inputs file") as npz:
        if "inputs" not in npz.names:
            raise UserError(f"{path}: no 'inputs' array (an .npz with 'inputs': 0/1 "
                            f"spikes [trials, T, {n_in}] is expected)")
        h = npz.header("inputs")
        if len(h.shape) != 3 or h.shape[2] != n_in or h.shape[0] < 1 or \
                not 1 <= h.shape[1] <= MAX_STEPS:
            raise UserError(f"{path}: 'inputs' must have shape [trials >= 1, 1 <= T <= "
                            f"{MAX_STEPS}, {n_in}], got {list(h.shape)}")
        if h.dtype.kind not in "biuf":
            raise UserError(f"{path}: 'inputs' must hold 0/1 spikes (bool, int or float), got "
                            f"dtype {h.dtype}")
        trials, n_steps = h.shape[:2]
        check_memory(inference_estimate(n_rec, Shape(n_in, n_out, n_steps), trials))
        x = npz.array("inputs", "biuf")
    if not np.all((x == 0) | (x == 1)):
        raise UserError(f"{path}: 'inputs' must hold 0/1 spikes (bool, int or float), got "
                        f"dtype {x.dtype} with other values")
    return x.astype(np.int64)


def _silent(spec: NetworkSpec, n_steps: int):
    """Zero targets and mask: the error process sends nothing, nothing learns."""
    return np.zeros((n_steps, spec.n_out), np.int64), np.zeros(n_steps, np.int64)


def effective_weights(spec: NetworkSpec) -> dict:
    """The integer weights each projection delivers (``<< weight_exp``): the spec's
    after ``LearningDense``'s first-step truncation."""
    net = FastNetwork(spec, learn=False)
    return {name: d.weights.astype(np.int64) for name, d in net.dense.items()}


def run_fast(spec: NetworkSpec, inputs: np.ndarray) -> dict:
    """All trials at once in the fast engine without learning (``FastNetwork(learn=False)``):
    ``z`` [trials, T, n_rec], ``readout_v`` [trials, T, n_out] (int64)."""
    n, n_steps = inputs.shape[:2]
    targets, mask = _silent(spec, n_steps)
    net = FastNetwork(spec, n_instances=n, learn=False)
    out = net.run(inputs, np.broadcast_to(targets, (n,) + targets.shape),
                  np.broadcast_to(mask, (n, n_steps)))
    return {k: np.moveaxis(v, 0, 1) for k, v in out.items()}


def run_lava(spec: NetworkSpec, inputs: np.ndarray, hardware: bool = False) -> dict:
    """Each trial through the product's Lava graph (:class:`~lava_eprop.lava_graph.LavaGraph`
    with ``learn=False``); same arrays as :func:`run_fast`."""
    from lava_eprop.lava_graph import LavaGraph

    outs = []
    for x in inputs:
        targets, mask = _silent(spec, len(x))
        outs.append(LavaGraph(spec, x, targets, mask, learn=False).run(hardware=hardware))
    return {k: np.stack([o[k] for o in outs]) for k in outs[0]}


def readout_values(spec: NetworkSpec, readout_v: np.ndarray) -> np.ndarray:
    """Readout registers as the float readout ``y = v / (Q 64)``."""
    return np.asarray(readout_v, float) / (spec.readout_scale * 64)


def load_targets(path: str | Path, n_trials: int, n_steps: int, n_out: int) -> np.ndarray | None:
    """The ``targets`` of an inputs file (:func:`check_targets`), None if it has none."""
    path = Path(path)
    with NpzArchive(path, ".npz inputs file") as npz:
        if "targets" not in npz.names:
            return None
        ndim = len(npz.header("targets").shape)
        shape, meaning = ((n_trials,), f"[{n_trials}] (class labels)") if ndim == 1 else \
            ((n_trials, n_steps, n_out), f"[{n_trials}, {n_steps}, {n_out}] (signals)")
        targets = npz.array("targets", "biuf" if ndim == 3 else "biu", shape,
                            f"{meaning}, as 'inputs'")
    return check_targets(targets, n_trials, n_steps, n_out, f"{path}: 'targets'")


def check_targets(targets: np.ndarray, n_trials: int, n_steps: int, n_out: int,
                  where: str) -> np.ndarray:
    """``targets`` if they are class labels ``[n_trials]`` (integers ``0..n_out-1``) or
    finite signals ``[n_trials, n_steps, n_out]``; else UserError naming ``where``."""
    if targets.shape == (n_trials,) and targets.dtype.kind in "biu":
        if targets.size and not 0 <= targets.min() <= targets.max() < n_out:
            raise UserError(f"{where}: class labels must be in 0..{n_out - 1} (the network's "
                            f"readouts), got {targets.min()}..{targets.max()}")
        return targets.astype(np.int64)
    if targets.shape == (n_trials, n_steps, n_out) and targets.dtype.kind in "biuf":
        if not np.all(np.isfinite(targets)):
            raise UserError(f"{where}: signals must be finite numbers")
        return targets.astype(float)
    raise UserError(f"{where}: must be integer labels [{n_trials}] or signals [{n_trials}, "
                    f"{n_steps}, {n_out}], got {targets.dtype} {list(targets.shape)}")


def decision_mask(net: TrainedNetwork, n_steps: int) -> np.ndarray:
    """The steps a classification decision averages the readout over: the last
    ``task.decision_window`` steps of a network trained on a dataset that sets it,
    else every step."""
    window = net.config.task.get("decision_window") or n_steps
    mask = np.zeros(n_steps, bool)
    mask[-min(window, n_steps):] = True
    return mask


def task_score(y: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> dict:
    """The score of readouts ``y`` [trials, T, n_out] against ``targets``.

    Signals ``[trials, T, n_out]``: ``{"nmse": ...}``, the mean squared error over
    the masked steps over the targets' variance there (``{"mse": ...}`` if they
    do not vary). Labels ``[trials]`` or
    per-step labels ``[trials, T]``: ``{"accuracy": ...}``, the fraction of trials
    whose decision (the readout averaged over the masked steps, then argmax; the
    label at the last masked step) is right. ``mask`` is ``[T]`` or ``[trials, T]``.
    """
    from lava_eprop.reference.network import predictions, trial_labels

    mask = np.broadcast_to(np.asarray(mask, bool), y.shape[:2])
    if targets.ndim == 3:
        mse, var = float(np.mean((y - targets)[mask] ** 2)), float(np.var(targets[mask]))
        return {"nmse": mse / var} if var > 0 else {"mse": mse}   # constant targets: MSE
    labels = targets if targets.ndim == 1 else trial_labels(targets, mask)
    return {"accuracy": float(np.mean(predictions(y, mask) == labels))}
