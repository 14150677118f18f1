"""Up-front memory estimate of a float training run, checked against the machine.

The float engine keeps, per trial of a batch, every step of a handful of
``[T, n_rec]`` arrays (spikes, membrane, adaptation, pseudo-derivative, and
the gradient's temporaries) and the presynaptic traces ``[T, n_in]``; the
held-out evaluation does the same for ``eval_trials`` trials. Online e-prop
keeps per trial an eligibility trace per synapse instead. A run whose
estimate exceeds the memory available is refused before it starts, with the
estimate, rather than after the machine starts swapping.
"""
from __future__ import annotations

import os

import numpy as np

from lava_eprop.config import Config
from lava_eprop.errors import UserError

# [B, T, n_rec] arrays alive at the peak of a batch iteration: z, v, a, psi
# (record), c, d, q, lambda, h (adjoint), zbar_rec, zbar_out, learning signal,
# the input drive, and NumPy temporaries; [B, T, n_in] arrays: the task's
# rates, random draws and spikes, and the input trace. Calibrated against a
# measured peak (tests/test_resources.py keeps it within a factor of 2).
_REC_ARRAYS = 16
_IN_ARRAYS = 6
# fraction of the available memory a run may plan to use
_BUDGET = 0.8


def estimate_bytes(cfg: Config, n_in: int, n_steps: int) -> int:
    """Peak bytes of the float engine's arrays for this config (an estimate)."""
    n, t = cfg.network, cfg.training
    item = np.dtype(t.dtype).itemsize
    n_rec = n.n_rec
    per_trial = n_steps * (_REC_ARRAYS * n_rec + _IN_ARRAYS * n_in) * item
    trials = max(t.batch_size, t.eval_trials)
    total = trials * per_trial
    if t.update == "online" and t.method == "eprop":
        per_synapse = 3 if n.neuron == "alif" else 2       # ebar, e (+ eps)
        total += t.batch_size * n_rec * (n_in + n_rec) * per_synapse * item
    if t.method == "bptt":
        total *= 4                                          # autograd keeps every step's graph
    return int(total)


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


def check_memory(cfg: Config, n_in: int, n_steps: int, available: int | None = None) -> int:
    """Refuse a run whose estimate exceeds the available memory; return the estimate."""
    need = estimate_bytes(cfg, n_in, n_steps)
    have = available_bytes() if available is None else available
    if have is not None and need > _BUDGET * have:
        t = cfg.training
        raise UserError(
            f"this run needs about {need / 2**30:.1f} GiB ({max(t.batch_size, t.eval_trials)} "
            f"trials x {n_steps} steps x {cfg.network.n_rec} neurons, {t.dtype}), more than "
            f"{_BUDGET:.0%} of the {have / 2**30:.1f} GiB available; lower training.batch_size,"
            " training.eval_trials or the sequence length, or use dtype: float32")
    return need
