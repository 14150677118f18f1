"""The three models of the quantization report, run trial by trial on the same data.

All three learn as the chip does: online, after every step, plain SGD with
the on-chip learning rate (``fixed_point.learning_rate``, default
``training.learning_rate``), per-step errors not divided by the number of
steps, no readout bias (there is no on-chip one). Only the model differs:

* **paper**: :mod:`lava_eprop.reference` (docs/architecture.md#the-algorithm;
  ``rec_step``, the leaky readout, :class:`~lava_eprop.reference.eprop.OnlineEprop` with
  its firing-rate regulariser on the running rate of the trial, scaled to
  the chip's per-trial error as the on-chip one is,
  :func:`lava_eprop.engine.spec.error_steps`); symmetric feedback
  follows ``W_out^T`` every step, adaptive feedback learns like it;
* **twin**: :class:`lava_eprop.quant.twin.TwinNetwork`;
* **fixed**: :class:`lava_eprop.engine.FastNetwork` (trial ``k`` with rule
  seed ``seed + k``, as ``lava-eprop train --engine fixed``).

Twin and fixed take their feedback from the caller (the report sets
symmetric feedback to the learned ``W_out^T`` between trials, as the on-chip
trainer does). A :class:`Trial` holds what the report compares, in float
units: spikes, membranes in units of the threshold, the readout ``y`` and
the weight change ``dW`` of every projection of the plan (float weight units).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lava_eprop.engine import FastNetwork
from lava_eprop.engine.learning_dense import truncate_weights
from lava_eprop.engine.spec import NetworkSpec
from lava_eprop.loihi.constants import SignMode
from lava_eprop.quant.saturation import SaturationWatch
from lava_eprop.quant.twin import TwinNetwork
from lava_eprop.reference.eprop import OnlineEprop
from lava_eprop.reference.network import (
    Record,
    loss_terms,
    simulate,
    single_thread_blas,
    softmax,
)
from lava_eprop.reference.neurons import initial_state, rec_step
from lava_eprop.reference.params import NetParams, Weights
from lava_eprop.tasks import Batch
from lava_eprop.training.common import Evaluation, score


class Trial(NamedTuple):
    """One trial: ``z``, ``v`` (threshold units) [T, n_rec], ``y`` [T, n_out], ``dw``
    (projection name -> float weight change over the trial); ``target`` ([T, n_out]
    signals or [T] labels) and ``mask`` [T] of the trial when known."""

    z: np.ndarray
    v: np.ndarray
    y: np.ndarray
    dw: dict
    target: np.ndarray | None = None
    mask: np.ndarray | None = None


def split_weights(spec: NetworkSpec, w_in, w_rec, w_out) -> dict:
    """Arrays of the reference layout (post x pre), per projection of the plan."""
    out = {}
    for g in spec.groups:
        rows = slice(g.offset, g.offset + g.size)
        out[f"input->{g.name}"], out[f"recurrent->{g.name}"] = w_in[rows], w_rec[rows]
    out["recurrent->readout"] = w_out
    return out


def _one_hot(labels, n_out: int) -> np.ndarray:
    return (np.asarray(labels)[..., None] == np.arange(n_out)).astype(float)


def _record(z, y) -> Record:
    zeros = np.zeros_like(z)
    return Record(z=z, v=zeros, a=zeros, psi=zeros, y=y)


def _evaluation(z, y, batch: Batch, kind: str, dt: float) -> Evaluation:
    """Task loss (the reference's, no regulariser) and score of recorded runs [B, T, ...]."""
    rec = _record(z, y)
    return score(rec, batch, kind, loss_terms(rec, batch.targets, batch.mask, kind, 0.0, 0.0,
                                              dt).task)


# ---------------------------------------------------------------- paper
def paper_trial(spec: NetworkSpec, w: Weights, p: NetParams, x, targets, mask, kind: str,
                eta: float, feedback: str, reg: tuple = (0.0, 0.0)) -> Trial:
    """One trial (``x`` [T, n_in]) of the reference network; ``w`` learns in place.
    ``reg`` is the regulariser's ``(c_reg, target rate in Hz)`` for this trial."""
    n_rec, n_out = w.w_rec.shape[0], w.w_out.shape[0]
    w0 = split_weights(spec, w.w_in.copy(), w.w_rec.copy(), w.w_out.copy())
    online = OnlineEprop(p, 1, x.shape[1], n_rec, x.shape[0], *reg)
    state = initial_state((1, n_rec))
    y = np.zeros((1, n_out))
    out = {k: [] for k in ("z", "v", "y")}
    with single_thread_blas():
        for t in range(x.shape[0]):
            state, psi = rec_step(state, p.s_in * (x[None, t] @ w.w_in.T + state.z @ w.w_rec.T),
                                  p)
            y = p.kappa * y + p.s_out * (state.z @ w.w_out.T + w.b_out)
            pred = y if kind == "regression" else softmax(y)
            want = targets[None, t] if kind == "regression" else _one_hot(targets[None, t], n_out)
            g = online.step(x[None, t], state.z, psi, (pred - want) * mask[t], w.fb)
            w.w_in -= eta * g.w_in
            w.w_rec -= eta * g.w_rec
            w.w_out -= eta * g.w_out
            if feedback == "symmetric":
                w.fb[...] = w.w_out.T
            elif feedback == "adaptive":
                w.fb -= eta * g.w_out.T
            for k, value in (("z", state.z), ("v", state.v / p.v_th), ("y", y)):
                out[k].append(value[0])
    w1 = split_weights(spec, w.w_in, w.w_rec, w.w_out)
    return Trial(*(np.array(out[k]) for k in ("z", "v", "y")),
                 dw={k: w1[k] - w0[k] for k in w0})


def paper_evaluate(w: Weights, p: NetParams, batch: Batch, kind: str) -> Evaluation:
    rec = simulate(w, p, batch.inputs.astype(float))
    return _evaluation(rec.z, rec.y, batch, kind, p.dt)


# ----------------------------------------------------------------- twin
def _v_unit(spec: NetworkSpec) -> np.ndarray:
    """Register units per threshold, per recurrent neuron."""
    return np.concatenate([np.full(g.size, float(g.rec.vth) * 2 ** 6) for g in spec.groups])


def twin_targets(spec: NetworkSpec, targets) -> np.ndarray:
    """Targets as the twin's error reads them: ``y* Q 64`` (not rounded) or one-hot."""
    if spec.classification:
        return _one_hot(targets, spec.n_out)
    return np.asarray(targets, float) * spec.readout_scale * 64


def twin_trial(spec: NetworkSpec, weights: dict, feedback, x, targets, mask) -> Trial:
    """One trial of the twin from ``weights`` (projection -> [1, n_post, n_pre] integer
    units), learning online; ``weights`` is replaced by the learnt ones in place."""
    net = TwinNetwork(spec, weights, feedback)
    tg = twin_targets(spec, targets)
    out = {k: [] for k in ("z", "v", "y")}
    for t in range(x.shape[0]):
        z = net.step(x[None, t], tg[None, t], mask[None, t])
        out["z"].append(z[0])
        out["v"].append(net.membrane()[0] / _v_unit(spec))
        out["y"].append(net.readout_v[0] / (spec.readout_scale * 64))
    new = net.weights()
    dw = {k: (new[k][0] - weights[k][0]) / spec.projection(k).plan.weight_per_unit
          for k in weights}
    weights.update(new)
    return Trial(*(np.array(out[k]) for k in ("z", "v", "y")), dw=dw)


def twin_evaluate(spec: NetworkSpec, weights: dict, feedback, batch: Batch, kind: str,
                  dt: float) -> Evaluation:
    """Held-out evaluation of the twin, weights frozen, all trials at once."""
    net = TwinNetwork(spec, weights, feedback, n_instances=batch.size)
    tg = twin_targets(spec, batch.targets)
    zs, ys = [], []
    for t in range(batch.inputs.shape[1]):
        zs.append(net.step(batch.inputs[:, t], tg[:, t], batch.mask[:, t], learn=False))
        ys.append(net.readout_v / (spec.readout_scale * 64))
    return _evaluation(np.stack(zs, 1), np.stack(ys, 1), batch, kind, dt)


# ---------------------------------------------------------------- fixed
def fixed_trial(spec: NetworkSpec, weights: dict, x, targets, mask, seed: int,
                watch: SaturationWatch) -> Trial:
    """One trial of the fast engine from integer ``weights`` (projection -> [n_post,
    n_pre]), learning online; ``weights`` is replaced by the learnt ones in place."""
    net = FastNetwork(spec.with_weights(weights), n_instances=1, seed=seed)
    ints = spec.targets(targets[None], x.shape[0])
    rec = net.run(x[None].astype(np.int64), ints, mask[None].astype(np.int64),
                  record=("z", "v", "readout_v"))
    out = {"z": rec["z"][:, 0], "v": rec["v"][:, 0] / _v_unit(spec),
           "y": rec["readout_v"][:, 0] / (spec.readout_scale * 64)}
    watch.end_run(net)
    dw = {}
    for k, dense in net.dense.items():
        start = truncate_weights(np.asarray(weights[k]), SignMode.MIXED, 8)  # Lava's step 1
        dw[k] = (dense.weights[0].astype(float) - start) / spec.projection(k).plan.weight_per_unit
        weights[k] = dense.weights[0].astype(np.int64)
    return Trial(*(np.array(out[k], float) for k in ("z", "v", "y")), dw=dw)


def fixed_evaluate(spec: NetworkSpec, weights: dict, batch: Batch, kind: str,
                   dt: float) -> Evaluation:
    """Held-out evaluation without learning (``FastNetwork(learn=False)``: frozen ``Dense``
    projections), all trials at once; ``lava-eprop train --engine fixed`` evaluates so in
    chunks of trials, to the same integers."""
    net = FastNetwork(spec.with_weights(weights), n_instances=batch.size, learn=False)
    ints = spec.targets(batch.targets, batch.inputs.shape[1])
    rec = net.run(batch.inputs.astype(np.int64), ints, np.zeros(batch.mask.shape, np.int64),
                  record=("z", "readout_v"))
    y = rec["readout_v"] / (spec.readout_scale * 64)
    return _evaluation(np.moveaxis(rec["z"], 0, 1).astype(float), np.moveaxis(y, 0, 1), batch,
                       kind, dt)


def trial_loss(trial: Trial, batch: Batch, kind: str, dt: float) -> float:
    """Task loss of one recorded training trial (``batch`` of size 1)."""
    return loss_terms(_record(trial.z[None], trial.y[None]), batch.targets, batch.mask, kind,
                      0.0, 0.0, dt).task
