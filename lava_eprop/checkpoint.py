"""Training checkpoints: everything needed to continue a run bit-identically.

A checkpoint (``checkpoint.npz`` in the run directory, written atomically)
holds the iterations completed, the current and initial weights, the
optimiser state (Adam's step count and moments), the state of the run's
random generator (which also fixes the data position: trials are drawn from
it in order), the loss and evaluation curves so far, the steps simulated and
seconds spent, and the config. Resuming from it and training to the end gives
the same weights, bit for bit, as an uninterrupted run with the same seed.

On-chip training (``--engine fixed`` / ``lava``) also stores its integer
weights per projection (``iw/<projection>``), the integer feedback B in use
(``iw/feedback``: symmetric B follows W_out between trials) and the engine:
every trial starts from zero neuron state, traces and tags, so at an iteration
boundary the
weights, the random generator (data position), the trial counter (iterations
times batch size) and the curves are the whole state. Checkpoints of the
``fixed`` and ``lava`` engines are interchangeable (they train bit-identically);
a float checkpoint does not resume an on-chip run or the other way round.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lava_eprop.config import Config, save_yaml
from lava_eprop.errors import UserError
from lava_eprop.io import write_npz
from lava_eprop.reference.params import Weights

CHECKPOINT_NAME = "checkpoint.npz"
_WEIGHTS = ("w_in", "w_rec", "w_out", "b_out", "fb")


@dataclass
class TrainState:
    """The state of a training run after ``iteration`` completed iterations."""

    iteration: int
    weights: Weights
    initial_weights: Weights
    optimizer: dict
    rng_state: dict
    loss_curve: list = field(default_factory=list)
    eval_curve: list = field(default_factory=list)
    steps_simulated: int = 0
    seconds: float = 0.0
    engine: str = "float"
    integer_weights: dict = field(default_factory=dict)


def save_checkpoint(path: str | Path, cfg: Config, state: TrainState) -> None:
    """Write ``state`` (and the config it belongs to) atomically to ``path``."""
    arrays = {"iteration": np.array(state.iteration), "config_yaml": np.array(save_yaml(cfg)),
              "rng_state": np.array(json.dumps(state.rng_state)),
              "loss_curve": np.array(state.loss_curve, dtype=np.float64),
              "eval_curve": np.array(state.eval_curve, dtype=np.float64).reshape(-1, 3),
              "steps_simulated": np.array(state.steps_simulated),
              "seconds": np.array(state.seconds), "engine": np.array(state.engine)}
    for k in _WEIGHTS:
        arrays[f"w/{k}"] = getattr(state.weights, k)
        arrays[f"w0/{k}"] = getattr(state.initial_weights, k)
    arrays.update({f"opt/{k}": v for k, v in state.optimizer.items()})
    arrays.update({f"iw/{k}": v for k, v in state.integer_weights.items()})
    write_npz(path, arrays)


def load_checkpoint(run_dir: str | Path, cfg: Config, engine: str = "float") -> TrainState:
    """Read ``run_dir/checkpoint.npz``; refuse it if it belongs to another config or
    to the other kind of engine (float vs on-chip ``fixed``/``lava``)."""
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise UserError(f"--resume: no {CHECKPOINT_NAME} in '{run_dir}' (write one with "
                        "--checkpoint-every N)")
    try:
        with np.load(path, allow_pickle=False) as data:
            a = {k: data[k] for k in data.files}
        if str(a["config_yaml"]) != save_yaml(cfg):
            raise UserError(f"{path} was written for a different config (resume with the "
                            "config and --seed/--method of the interrupted run)")
        weights = Weights(**{k: a[f"w/{k}"] for k in _WEIGHTS})
        initial = Weights(**{k: a[f"w0/{k}"] for k in _WEIGHTS})
        state = TrainState(
            iteration=int(a["iteration"]), weights=weights, initial_weights=initial,
            optimizer={k[4:]: v for k, v in a.items() if k.startswith("opt/")},
            rng_state=json.loads(str(a["rng_state"])),
            loss_curve=a["loss_curve"].tolist(), eval_curve=a["eval_curve"].tolist(),
            steps_simulated=int(a["steps_simulated"]), seconds=float(a["seconds"]),
            engine=str(a.get("engine", "float")),
            integer_weights={k[3:]: v for k, v in a.items() if k.startswith("iw/")})
    except UserError:
        raise
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a readable checkpoint ({reason})") from None
    if (state.engine == "float") != (engine == "float"):
        raise UserError(f"{path} was written by --engine {state.engine}; it cannot resume "
                        f"--engine {engine} (allowed: --engine "
                        f"{'float' if state.engine == 'float' else 'fixed or lava'})")
    if not 0 < state.iteration <= cfg.training.iterations:
        raise UserError(f"{path}: checkpoint at iteration {state.iteration}, outside 1.."
                        f"{cfg.training.iterations}")
    return state
