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
(``iw/feedback``: symmetric B follows W_out between trials), the engine and,
for ``--engine fixed``, the saturation events counted so far (``sat/<variable>``,
so a resumed run reports the counts of the whole run): every trial starts from
zero neuron state, traces and tags, so at an iteration boundary the weights,
the random generator (data position), the trial counter (iterations times
batch size) and the curves are the whole state. Checkpoints of the
``fixed`` and ``lava`` engines are interchangeable (they train bit-identically);
a float checkpoint does not resume an on-chip run or the other way round.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lava_eprop.config import Config, save_yaml
from lava_eprop.errors import UserError
from lava_eprop.io import write_npz
from lava_eprop.loaders import MAX_TEXT_BYTES, NpzArchive
from lava_eprop.network_file import ENGINES, weight_shapes
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
    saturation: dict | None = None    # --engine fixed: saturation events so far, per variable


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
    arrays.update({f"sat/{k}": np.array(n, np.int64)
                   for k, n in (state.saturation or {}).items()})
    write_npz(path, arrays)


def eval_iterations(cfg: Config, engine: str, upto: int) -> list[int]:
    """The iterations (1-based, at most ``upto``) after which a run has evaluated: every
    ``eval_every``-th, and for the float engine also the last of the run."""
    t = cfg.training
    done = [i for i in range(t.eval_every, upto + 1, t.eval_every)]
    if engine == "float" and upto == t.iterations and upto % t.eval_every:
        done.append(upto)
    return done


def _optimizer_template(cfg: Config, weights: Weights) -> dict:
    """The optimiser state members (names, shapes, dtypes) after a step on ``weights``."""
    from lava_eprop.reference.optim import make_optimizer, trained_parameters

    params = {k: np.zeros_like(v) for k, v in trained_parameters(weights, cfg).items()}
    opt = make_optimizer(cfg.training.optimizer, cfg.training.learning_rate)
    opt.step(params, {k: np.zeros_like(v) for k, v in params.items()})
    return {k: np.asarray(v) for k, v in opt.state().items()}


def _rng_state(text: str, where: str) -> dict:
    """A PCG64 state (as ``bit_generator.state``) from JSON; UserError if it is not one."""
    try:
        state = json.loads(text)
        np.random.PCG64().state = state         # refuses anything but a PCG64 state
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
        raise UserError(f"{where}: 'rng_state' is not a PCG64 random-generator state"
                        ) from None
    return state


class _Reader:
    """Checked reading of a checkpoint's members (every one must be claimed)."""

    def __init__(self, npz: NpzArchive, path: Path):
        self.npz, self.path, self.claimed = npz, path, set()

    def refuse(self, problem: str) -> UserError:
        return UserError(f"{self.path}: {problem} (not a checkpoint this run can resume)")

    def array(self, name, kinds, shape=None):
        self.claimed.add(name)
        return self.npz.array(name, kinds, shape)

    def scalar(self, name, kinds, lo=None, hi=None):
        value = self.array(name, kinds, ()).item()
        if isinstance(value, float) and not math.isfinite(value) or \
                lo is not None and value < lo or hi is not None and value > hi:
            raise self.refuse(f"'{name}' = {value!r} is outside {lo}..{hi}")
        return value

    def text(self, name, max_chars):
        self.claimed.add(name)
        return self.npz.text(name, max_chars)

    def finite(self, name, kinds, shape):
        arr = self.array(name, kinds, shape)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise self.refuse(f"'{name}' holds NaN or Inf")
        return arr

    def group(self, prefix: str) -> list[str]:
        return sorted(n for n in self.npz.names if n.startswith(prefix))


def load_checkpoint(run_dir: str | Path, cfg: Config, engine: str, n_in: int,
                    n_out: int) -> TrainState:
    """Read and check ``run_dir/checkpoint.npz`` for a run of ``cfg`` with ``engine`` on a
    task of ``n_in`` inputs and ``n_out`` outputs.

    Every member is checked from its ``.npy`` header before it is read, then its
    value: the config and the kind of engine (float vs on-chip ``fixed``/``lava``)
    must match the run; the iteration lies in ``1..iterations``; the curves have
    that iteration's lengths; weights and optimiser state have the network's
    shapes and are finite; the random-generator state is a PCG64 state. Unknown
    members are refused. On-chip integer weights (``iw/``) are checked against
    the network when training resumes (:func:`lava_eprop.training.onchip.train_fixed`).
    """
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise UserError(f"--resume: no {CHECKPOINT_NAME} in '{run_dir}' (write one with "
                        "--checkpoint-every N)")
    with NpzArchive(path, "checkpoint") as npz:
        r = _Reader(npz, path)
        kind = r.text("engine", 16) if "engine" in npz.names else "float"
        if kind not in ENGINES:
            raise r.refuse(f"engine {kind!r} is not one of {', '.join(ENGINES)}")
        if r.text("config_yaml", MAX_TEXT_BYTES) != save_yaml(cfg):
            raise UserError(f"{path} was written for a different config (resume with the "
                            "config and --seed/--method of the interrupted run)")
        if (kind == "float") != (engine == "float"):
            raise UserError(f"{path} was written by --engine {kind}; it cannot resume "
                            f"--engine {engine} (allowed: --engine "
                            f"{'float' if kind == 'float' else 'fixed or lava'})")
        total = cfg.training.iterations
        iteration = int(r.array("iteration", "iu", ()))
        if not 0 < iteration <= total:
            raise UserError(f"{path}: checkpoint at iteration {iteration}, outside 1..{total}")
        loss_curve = r.finite("loss_curve", "f", (iteration,))
        evals = eval_iterations(cfg, kind, iteration)
        eval_curve = r.finite("eval_curve", "f", (len(evals), 3))
        if eval_curve[:, 0].tolist() != evals:
            raise r.refuse(f"'eval_curve' evaluates after iterations "
                           f"{eval_curve[:, 0].tolist()[:5]}..., the run after {evals[:5]}...")
        shapes = weight_shapes(cfg, n_in, n_out)
        weights, initial = ({k: r.finite(f"{prefix}/{k}", "f", shape)
                             for k, shape in shapes.items()} for prefix in ("w", "w0"))
        weights, initial = Weights(**weights), Weights(**initial)
        optimizer = {}
        if kind == "float":
            for name, want in _optimizer_template(cfg, weights).items():
                got = r.finite(f"opt/{name}", "iu" if want.dtype.kind in "iu" else "f",
                               want.shape)
                if got.dtype.kind in "iu" and np.any(got < 0):
                    raise r.refuse(f"'opt/{name}' is negative")
                optimizer[name] = got
        integer_weights = {k[3:]: r.array(k, "iu") for k in r.group("iw/")} \
            if kind != "float" else {}
        saturation = {k[4:]: r.scalar(k, "iu", 0) for k in r.group("sat/")} \
            if kind == "fixed" else None
        state = TrainState(
            iteration=iteration, weights=weights, initial_weights=initial, optimizer=optimizer,
            rng_state=_rng_state(r.text("rng_state", 4096), str(path)),
            loss_curve=loss_curve.tolist(), eval_curve=eval_curve.tolist(),
            steps_simulated=r.scalar("steps_simulated", "iu", 0),
            seconds=float(r.scalar("seconds", "f", 0.0)), engine=kind,
            integer_weights=integer_weights, saturation=saturation)
        unknown = sorted(set(npz.names) - r.claimed)
        if unknown:
            raise r.refuse(f"unknown member '{unknown[0]}'")
    return state
