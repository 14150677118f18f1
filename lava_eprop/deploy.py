"""The deployment commands: ``run`` (inference on the Lava graph) and ``deploy`` (Loihi 2).

Both run the product's own Lava graph (:class:`~lava_eprop.lava_graph.LavaGraph`)
with the fixed-point models and write into an output directory, atomically
and only after the run succeeded:

* ``outputs.npz``: ``z`` [trials, T, n_rec] spikes (uint8), ``readout_v``
  [trials, T, n_out] readout registers (int64), ``readout`` the same as the
  float readout ``y = v / (Q 64)``;
* ``summary.json``: sizes, run configuration, mean rate, seconds, whether the
  fast engine gave identical integers (``run``), the task ``score`` (``deploy``,
  and ``run`` when the inputs file carries ``targets``), notes;
* ``network.npz`` after ``deploy --learn``: the weights learned on chip.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lava_eprop.engine.network import READOUT
from lava_eprop.engine.spec import error_steps
from lava_eprop.errors import UserError
from lava_eprop.inference import (
    decision_mask,
    integer_spec,
    readout_values,
    run_fast,
    run_lava,
    task_score,
)
from lava_eprop.io import check_output_dir, write_json, write_npz
from lava_eprop.network_file import TrainedNetwork, save_network
from lava_eprop.reference.network import mean_rate_hz
from lava_eprop.resources import check_memory, inference_estimate

HW_MISSING = ("Loihi 2 hardware support (lava-loihi) is not installed; run in the simulator "
              "{how} (Loihi2SimCfg, the same fixed-point models)")


def check_hardware(how: str = "with --sim") -> None:
    """Raise UserError (one line) unless Intel's Loihi 2 extension is installed;
    ``how`` says how the command runs in the simulator instead."""
    from lava.utils import loihi
    if not loihi.is_installed():
        raise UserError(HW_MISSING.format(how=how))


def default_out_dir(network: Path, name: str) -> Path:
    """Where ``run`` (``name`` ``inference``) and ``deploy`` write by default: beside
    the network file."""
    return Path(network).parent / name


def _notes(net: TrainedNetwork) -> list:
    notes = []
    if np.any(net.weights.b_out != 0):
        notes.append("the readout bias b_out is not on chip and was ignored")
    return notes


@dataclass
class Inference:
    """What ``run`` or ``deploy`` produced: ``z`` [trials, T, n_rec] spikes,
    ``readout_v`` [trials, T, n_out] readout registers, ``readout`` the float readout
    ``y = v / (Q 64)``, the ``summary`` (``summary.json``: sizes, run configuration,
    mean rate, seconds, ``score`` when there were targets, notes) and ``out_dir``
    (None when nothing was written)."""

    z: np.ndarray
    readout_v: np.ndarray
    readout: np.ndarray
    summary: dict
    out_dir: Path | None = None

    @property
    def score(self) -> dict | None:
        """``{"accuracy": ...}`` or ``{"nmse": ...}`` against the targets, or None."""
        return self.summary.get("score")


def _finish(spec, trace: dict, summary: dict, out: Path | None) -> Inference:
    """The :class:`Inference` of a run; written into ``out`` (atomically) unless None."""
    z = trace["z"]
    summary.update(trials=int(z.shape[0]), steps=int(z.shape[1]), n_rec=int(z.shape[2]),
                   n_out=int(trace["readout_v"].shape[2]),
                   mean_rate_hz=mean_rate_hz(z, summary.pop("dt")))
    result = Inference(z.astype(np.uint8), trace["readout_v"],
                       readout_values(spec, trace["readout_v"]), summary, out)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_npz(out / "outputs.npz", {"z": result.z, "readout_v": result.readout_v,
                                        "readout": result.readout})
        write_json(out / "summary.json", summary)
    return result


def run_inference(net: TrainedNetwork, network: str, inputs: np.ndarray, out_dir: Path | None,
                  hardware: bool = False, compare: bool = True,
                  targets: np.ndarray | None = None) -> Inference:
    """``lava-eprop run``: every trial through the Lava graph, learning off; written into
    ``out_dir`` unless None. ``network`` names the network in the summary. With
    ``targets`` (as :func:`~lava_eprop.inference.load_targets` returns them) the
    summary holds the ``score`` (:func:`~lava_eprop.inference.task_score`; a
    classification decision over :func:`~lava_eprop.inference.decision_mask`)."""
    if out_dir is not None:
        check_output_dir(Path(out_dir))
    if hardware:
        check_hardware("without --hw")
    spec = integer_spec(net)
    start = time.perf_counter()
    trace = run_lava(spec, inputs, hardware=hardware)
    seconds = time.perf_counter() - start
    summary = {"network": str(network), "engine": "lava",
               "run_config": "Loihi2HwCfg" if hardware else "Loihi2SimCfg(fixed_pt)",
               "learning": False, "seconds": seconds, "dt": net.config.network.dt,
               "notes": _notes(net)}
    if compare:
        fast = run_fast(spec, inputs)
        summary["fast_engine_identical"] = all(np.array_equal(fast[k], trace[k]) for k in trace)
    if targets is not None:
        mask = decision_mask(net, inputs.shape[1]) if targets.ndim == 1 \
            else np.ones(inputs.shape[1], bool)
        summary["score"] = task_score(readout_values(spec, trace["readout_v"]), targets, mask)
        summary["score_steps"] = int(mask.sum())
    return _finish(spec, trace, summary, None if out_dir is None else Path(out_dir))


def deploy(net: TrainedNetwork, network: str, out_dir: Path | None, learn: bool,
           sim: bool) -> Inference:
    """``lava-eprop deploy``: one held-out trial of the network's task on Loihi 2
    (``Loihi2HwCfg``) or, with ``sim``, in ``Loihi2SimCfg``; with ``learn`` the
    weights learn on chip during the trial and are saved.

    With ``learn`` the trial is one trial of on-chip training: the host puts the
    weights on ``LearningDense``'s even grid before it and, after it, applies the
    steps on-chip training takes between trials (``training.onchip.after_trial``:
    the even grid, and the recurrent diagonal back to 0 without
    ``network.self_connections``), so the saved network is what the next trial
    would start from. The summary holds the trial's ``score``
    (:func:`~lava_eprop.inference.task_score`). Nothing is written when
    ``out_dir`` is None."""
    from lava_eprop.training.onchip import (
        after_trial,
        float_weights,
        grid_before_training,
    )
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        check_output_dir(out)
    if not sim:
        check_hardware()
    from lava_eprop.lava_graph import LavaGraph
    from lava_eprop.tasks import make_task, task_shape

    check_memory(inference_estimate(net.config.network.n_rec, task_shape(net.config), 1))
    task = make_task(net.config)
    task.check_spikes("deploy")
    batch = task.held_out(1, net.config.training.seed)
    classification = task.kind == "classification"
    spec = integer_spec(net, classification=classification, n_steps=task.n_steps,
                        n_err=error_steps(batch.mask, classification))
    seed = net.config.training.seed
    if learn:
        spec = spec.with_weights(grid_before_training(spec, seed))
    if net.config.training.feedback == "symmetric":     # as on-chip training sets B
        spec = spec.with_symmetric_feedback(spec.projection(READOUT).weights)
    x = batch.inputs[0].astype(np.int64)
    targets = spec.targets(batch.targets[0], len(x))
    mask = batch.mask[0].astype(np.int64) * int(learn)
    graph = LavaGraph(spec, x, targets, mask, seed=seed, learn=learn)
    start = time.perf_counter()
    trace = graph.run(hardware=not sim)
    seconds = time.perf_counter() - start
    trace = {k: v[None] for k, v in trace.items()}
    summary = {"network": str(network), "engine": "lava", "task": task.name,
               "run_config": "Loihi2SimCfg(fixed_pt)" if sim else "Loihi2HwCfg",
               "learning": learn, "seconds": seconds, "dt": net.config.network.dt,
               "notes": _notes(net),
               "score": task_score(readout_values(spec, trace["readout_v"]), batch.targets,
                                   batch.mask)}
    result = _finish(spec, trace, summary, out)
    if learn and out is not None:
        weights = {k: np.asarray(w, np.int64) for k, w in graph.final_weights.items()}
        weights = after_trial(spec, weights, seed, 0, net.config.network.self_connections)
        learned = float_weights(spec.with_weights(weights), weights, net.weights.b_out)
        save_network(out / "network.npz", TrainedNetwork(net.config, learned, "lava"))
    return result
