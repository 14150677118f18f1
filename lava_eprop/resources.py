"""Up-front memory estimate of every command that simulates, checked against the machine.

The estimate comes from the config alone (and the headers of the files it
names), before the task is built or any large array allocated: the task's
own data (:meth:`lava_eprop.tasks.Task.shape`), then the arrays a command
keeps for every step of the trials it simulates at once, per recurrent
neuron, input channel and readout:

* ``float`` training simulates the trials of a batch, and the held-out
  trials in chunks of as many (at least
  :data:`EVAL_CHUNK`), in the same three
  ``[T, n_rec]`` arrays per trial (input drive, spikes, pseudo-derivative);
  the gradient adds one ``[T, n_rec]`` trace and the batch's inputs per
  training trial. Per held-out trial it keeps the inputs as bool, the
  readouts of two evaluations and the loss's temporaries, and in the final
  evaluation the spikes as bool; drawing the held-out set, before anything
  else, takes its rates and random draws. Online e-prop keeps per trial an
  eligibility trace per synapse instead;
* on-chip training (``fixed``, ``lava``) runs its trials one at a time, and
  evaluates the held-out trials in the fast engine in chunks of
  :data:`EVAL_CHUNK` (integer inputs and records
  of spikes and readout); per held-out trial it keeps the inputs, the spikes
  as bool and the readouts of two evaluations, and the loss's temporaries;
  drawing the held-out set takes what it takes for the float reference;
* ``quant-report`` keeps the held-out trials and the records of six
  evaluations (three models, before and after training);
* ``run`` runs all trials of its inputs file at once in the fast engine and
  one by one in Lava; ``deploy`` runs one held-out trial.

A run whose estimate exceeds :data:`BUDGET` of the memory available is
refused with one line naming the estimate and what is available, rather
than failing with a ``MemoryError`` or swapping once it has started. Only
the arrays are estimated: Lava's processes, compiled code and the
interpreter come on top.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from lava_eprop.config import Config
from lava_eprop.errors import UserError
from lava_eprop.tasks import Shape, task_shape

#: Held-out trials an evaluation simulates at once (both trainers): it bounds the
#: memory of an evaluation, whatever the number of held-out trials.
EVAL_CHUNK = 32

#: fraction of the available memory a run may plan to use
BUDGET = 0.8


@dataclass(frozen=True)
class PerStep:
    """Arrays alive at a command's peak, per trial and step: how many ``[n_rec]``,
    ``[n_in]`` and ``[n_out]`` vectors of 8 bytes (the float engine's: of its dtype).
    Calibrated against measured peaks (tests/test_resources.py keeps each within a
    factor of 2)."""

    rec: float
    inputs: float
    out: float


# float, per trial simulated at once: input drive, z, psi (reused by every simulation)
_FLOAT_SIMULATED = PerStep(rec=3, inputs=0, out=1)
# float, per training trial: a filtered trace of the gradient, the batch, its sampling
_FLOAT_BATCH = PerStep(rec=1, inputs=4, out=4)
# float, per held-out trial: inputs and the final evaluation's spikes as bool, the
# readouts of two evaluations and the loss's temporaries, the targets and mask
_FLOAT_HELD = PerStep(rec=1 / 8, inputs=1 / 8, out=12)
# drawing the held-out set (any engine): rates, random draws, spikes (nothing else allocated)
_HELD_DRAW = PerStep(rec=0, inputs=2.2, out=1)
# on chip, per held-out trial simulated at once: integer inputs (two copies), spikes
# and readout recorded step by step and stacked, integer targets
_CHIP_SIMULATED = PerStep(rec=2, inputs=2, out=5)
# on chip, per held-out trial: float inputs, the spikes of two evaluations as bool,
# their readouts, the loss's temporaries, the targets
_CHIP_HELD = PerStep(rec=1 / 4, inputs=1, out=9)
# quant-report, per held-out trial: the batch and the records of six evaluations
# (three models, before and after training)
_QUANT = PerStep(rec=13, inputs=2.9, out=8)
# drawing trials: rates, random draws, spikes
_SAMPLE = PerStep(rec=0, inputs=3.5, out=1)
# run / deploy: integer inputs, fast-engine and Lava records, the outputs written
_INFERENCE = PerStep(rec=2.2, inputs=2.5, out=4)


@dataclass(frozen=True)
class Estimate:
    """An estimate and the sizes it stands for (to name them in a refusal)."""

    nbytes: int
    trials: int
    n_steps: int
    n_rec: int
    what: str           # how to lower it


def _per_trial(per: PerStep, shape: Shape, n_rec: int, item: int) -> int:
    return int(shape.n_steps * item * (per.rec * n_rec + per.inputs * shape.n_in
                                       + per.out * shape.n_out))


def _eval_trials(shape: Shape, eval_trials: int) -> int:
    """Held-out trials evaluated at once: a dataset holds at most its samples."""
    return eval_trials if shape.n_samples is None else min(eval_trials, shape.n_samples)


def training_estimate(cfg: Config, engine: str) -> Estimate:
    """Peak bytes of ``lava-eprop train --engine engine`` with ``cfg``."""
    shape = task_shape(cfg)
    n, t = cfg.network, cfg.training
    held = _eval_trials(shape, t.eval_trials)
    drawn = held * _per_trial(_HELD_DRAW, shape, n.n_rec, 8)
    if engine == "float":
        item = np.dtype(t.dtype).itemsize
        simulated = max(t.batch_size, min(held, EVAL_CHUNK))
        trials = simulated
        total = max(drawn,
                    simulated * _per_trial(_FLOAT_SIMULATED, shape, n.n_rec, item)
                    + t.batch_size * _per_trial(_FLOAT_BATCH, shape, n.n_rec, item)
                    + held * _per_trial(_FLOAT_HELD, shape, n.n_rec, item))
        if t.update == "online" and t.method == "eprop":
            per_synapse = 3 if n.neuron == "alif" else 2       # ebar, e (+ eps)
            total += t.batch_size * n.n_rec * (shape.n_in + n.n_rec) * per_synapse * item
        if t.method == "bptt":
            total *= 4                                          # autograd keeps every step
        what = "training.batch_size, training.eval_trials or the sequence length, or use " \
               "training.dtype: float32"
    else:                              # trains one trial at a time, evaluates in chunks
        trials = min(held, EVAL_CHUNK)
        total = max(drawn, trials * _per_trial(_CHIP_SIMULATED, shape, n.n_rec, 8)
                    + held * _per_trial(_CHIP_HELD, shape, n.n_rec, 8))
        what = "training.eval_trials or the sequence length"
    return Estimate(int(total + shape.data_bytes), trials, shape.n_steps, n.n_rec, what)


def quant_report_estimate(cfg: Config, eval_trials: int) -> Estimate:
    """Peak bytes of ``lava-eprop quant-report`` with ``cfg`` (its task overrides applied)
    and ``--eval-trials eval_trials`` (the config's ``training.eval_trials`` held-out
    trials fix the regulariser's error steps)."""
    shape = task_shape(cfg)
    trials = _eval_trials(shape, eval_trials) + 1                # + the probe trial
    sampled = _eval_trials(shape, cfg.training.eval_trials)    # for their mask alone
    total = max(trials * _per_trial(_QUANT, shape, cfg.network.n_rec, 8),
                sampled * _per_trial(_SAMPLE, shape, cfg.network.n_rec, 8))
    return Estimate(int(total + shape.data_bytes), max(trials, sampled), shape.n_steps,
                    cfg.network.n_rec,
                    "--eval-trials, training.eval_trials or the sequence length (--task)")


def inference_estimate(n_rec: int, shape: Shape, trials: int) -> Estimate:
    """Peak bytes of ``run`` (``trials`` trials of ``shape.n_steps`` steps at once) or
    ``deploy`` (one trial; ``shape.data_bytes`` the task's data)."""
    total = trials * _per_trial(_INFERENCE, shape, n_rec, 8) + shape.data_bytes
    return Estimate(int(total), trials, shape.n_steps, n_rec,
                    "the trials or steps of the inputs")


def available_bytes() -> int | None:
    """Memory available to a new allocation (MemAvailable on Linux), or None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.1f} MiB"


def check_memory(estimate: Estimate, available: int | None = None) -> int:
    """Refuse a run whose estimate exceeds :data:`BUDGET` of the available memory
    (``available`` bytes, default :func:`available_bytes`); return the estimate."""
    have = available_bytes() if available is None else available
    need = estimate.nbytes
    if have is not None and need > BUDGET * have:
        raise UserError(
            f"this run needs about {_size(need)} ({estimate.trials} trials x "
            f"{estimate.n_steps} steps x {estimate.n_rec} neurons at once), more than "
            f"{BUDGET:.0%} of the {_size(have)} available; lower {estimate.what}")
    return need
