"""Pre- and postsynaptic trace arithmetic of Lava's fixed-point learning engine.

Pure functions over integer arrays with a leading instance axis; the traces
of one neuron group are stacked, (n_instances, k, n) with k = 2 (x1, x2) or
3 (y1, y2, y3). Each mirrors a method of
``LearningConnectionModelBitApproximate``
(``lava/magma/core/model/py/connection.py``):

* :func:`split_impulses` — ``_decompose_impulses``: an impulse ``I`` is stored
  as ``floor(I)`` and an 8-bit fraction ``round((I - floor(I)) * 2**8)``
  (``W_TRACE_FRACTIONAL_PART``).
* :func:`add_impulse` — ``_add_impulse``: ``trace + floor(I)``, plus one if
  the random number is below the 8-bit fraction, saturated to the 7-bit trace
  range ``[0, 127]`` (``W_TRACE``).
* :func:`decay_factors`, :func:`decay` — ``_decay_trace`` over one step:
  ``r = exp(-1/tau) * trace`` in float64, then ``floor(r)`` plus one if the
  random double is below ``r mod 1``; no saturation.
* :func:`epoch_history` — ``_compute_trace_histories`` for one group: the
  values at within-epoch steps ``0..t_epoch`` (step 0 = the stored trace),
  each step decayed from the previous one (set to 0 when ``tau == 0``) and
  given an impulse where the neuron's last spike of the epoch happened.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lava_eprop.loihi.constants import W_TRACE, W_TRACE_FRACTIONAL_PART

#: Largest trace value: traces are 7-bit unsigned on Loihi 2.
TRACE_MAX = 2 ** W_TRACE - 1


def split_impulses(impulses: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Integer parts and 8-bit fractional parts of trace impulses, (k, 1) int64."""
    impulses = np.asarray(impulses, dtype=float)
    whole = np.floor(impulses)
    frac = np.round((impulses - whole) * 2 ** W_TRACE_FRACTIONAL_PART)
    return whole.astype(np.int64)[:, None], frac.astype(np.int64)[:, None]


def decay_factors(taus: Sequence[float]) -> np.ndarray:
    """``exp(-1 / tau)`` per trace, (k, 1) float64, computed as Lava computes it.

    A trace with ``tau == 0`` gets factor 0.0: Lava leaves it at 0 in the
    epoch history, and ``0.0 * v`` stochastically rounds to exactly 0.
    """
    taus = np.asarray(taus)
    factors = np.zeros((len(taus), 1))
    nonzero = taus != 0
    factors[nonzero] = np.exp(-1 / taus[nonzero][:, np.newaxis])
    return factors


def add_impulse(traces: np.ndarray, random, impulse_int: np.ndarray,
                impulse_frac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add impulses with stochastic rounding; saturate to 7 bits.

    ``traces`` is (n_instances, k, n); ``random`` is 0 (Lava's choice for a
    repeated spike within an epoch) or the impulse stream's integer in
    [0, 127] per instance, (n_instances, 1, 1); impulses are (k, 1).
    Returns the new traces and where the saturation changed a value (bool).
    """
    bumped = traces + impulse_int + (random < impulse_frac)  # +1 w.p. frac (Lava's compare)
    return np.clip(bumped, 0, TRACE_MAX), (bumped < 0) | (bumped > TRACE_MAX)  # 7-bit unsigned


def decay(traces: np.ndarray, factors: np.ndarray, random: np.ndarray) -> np.ndarray:
    """One step of exponential decay with stochastic rounding (float64 product).

    ``traces`` (n_instances, k, n), ``factors`` (k, 1), ``random`` the decay
    stream's double per instance, (n_instances, 1, 1).
    """
    scaled = factors * traces  # float64, as Lava computes it
    whole = np.floor(scaled)
    # scaled - floor(scaled) is the same double as Lava's scaled % 1 (both
    # round the exact fraction once) and far cheaper than np.remainder
    up = random < scaled - whole
    return whole.astype(np.int64) + up


def epoch_history(traces: np.ndarray, factors: np.ndarray, spike_time: np.ndarray,
                  t_epoch: int, decay_random: np.ndarray, impulse_random: np.ndarray,
                  impulse_int: np.ndarray, impulse_frac: np.ndarray
                  ) -> tuple[list[np.ndarray], np.ndarray]:
    """Values of a neuron group's traces at within-epoch steps 0..t_epoch, and
    the number of impulses per trace, (k,), whose 7-bit saturation acted.

    Parameters
    ----------
    traces : ndarray, int64, (n_instances, k, n)
        Stored traces at the end of the epoch (step 0 of the history).
    factors : ndarray, (k, 1)
        See :func:`decay_factors`.
    spike_time : ndarray, int, (n_instances, n)
        Within-epoch step of each neuron's last spike, 0 if it did not spike.
    t_epoch : int
        Epoch length.
    decay_random, impulse_random : ndarray, (n_instances, 1, 1)
        The trace streams' current numbers, shared by every step of the
        history (Lava does not advance them inside the epoch).
    impulse_int, impulse_frac : ndarray, (k, 1)
        The impulses, split as by :func:`split_impulses`.
    """
    history = [traces]
    saturated = np.zeros(traces.shape[1], np.int64)
    for t in range(1, t_epoch + 1):
        value = decay(history[-1], factors, decay_random)
        spiked = (spike_time == t)[:, None, :]
        if spiked.any():
            bumped, clipped = add_impulse(value, impulse_random, impulse_int, impulse_frac)
            value = np.where(spiked, bumped, value)
            saturated += (clipped & spiked).sum(axis=(0, 2))
        history.append(value)
    return history, saturated


def at_own_time(history: list[np.ndarray], times: np.ndarray) -> np.ndarray:
    """Each neuron's trace at its own within-epoch step ``times``: (n_inst, n)."""
    if len(history) == 2:
        return np.where(times == 1, history[1], history[0])
    stacked = np.stack(history)  # (t_epoch + 1, n_inst, n)
    return np.take_along_axis(stacked, times[None], axis=0)[0]


def at_other_time(history: list[np.ndarray], times: np.ndarray) -> np.ndarray:
    """Trace of neuron ``a`` at the step ``times[b]`` of neuron ``b``.

    ``history`` entries are (n_inst, n_a); ``times`` is (n_inst, n_b); the
    result is (n_inst, n_a, n_b) (Lava's ``y_traces_history[tx].T`` and
    ``x_traces_history[ty]`` with the instance axis in front).
    """
    if len(history) == 2:  # times are 0 or 1: h0 + [t == 1] * (h1 - h0), exact
        later = (times[:, None, :] == 1).astype(history[0].dtype)
        return history[0][:, :, None] + later * (history[1] - history[0])[:, :, None]
    stacked = np.stack(history)  # (t_epoch + 1, n_inst, n_a)
    n_inst, n_a = stacked.shape[1:]
    return stacked[times[:, None, :], np.arange(n_inst)[:, None, None],
                   np.arange(n_a)[None, :, None]]
