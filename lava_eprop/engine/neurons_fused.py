"""The neurons' equations of :mod:`lava_eprop.engine.neurons`, compiled (numba), in place.

:mod:`lava_eprop.engine.neurons` writes the recurrent step, the readout step
and the error step once, as equations; this module generates from the same
text a numba kernel that loops over the neurons, with the operations
defined for one int64 value (:data:`SCALAR_OPERATIONS`), and counts the
events of :data:`neurons.NEURON_COUNTERS` as the NumPy path does (the
wrapped or saturated value against the one before). It runs the neuron side
of :class:`~lava_eprop.engine.network.FastNetwork` with ``fused=True``: one
call per recurrent group (:func:`rec_step`) and one for the readout, the
error and the learning signal (:func:`readout_error_step`) per time step,
updating the state arrays in place. ``tests/test_engine_neurons_fused.py``
runs both paths side by side.

The generated module (:func:`kernel_source`) lives in the kernel cache
directory, named by the hash of its source, which names the
:func:`~lava_eprop.kernel_cache.fingerprint` of :mod:`neurons`: a changed
equation or constant gives a new module, never stale compiled code.
"""
from __future__ import annotations

import numpy as np

from lava_eprop import kernel_cache
from lava_eprop.engine.neurons import (
    CONSTANTS,
    ERROR_STEP,
    NEURON_COUNTERS,
    READOUT_STEP,
    REC_STEP,
    ErrorParams,
    RecOut,
    RecParams,
    RecState,
    with_counters,
)

N_COUNTERS = len(NEURON_COUNTERS)

#: The operations of the equations on one int64 value (the integer arithmetic of
#: :class:`neurons.IntArithmetic`), counting into ``counts[slot]``.
SCALAR_OPERATIONS = '''
@numba.njit(cache=True, inline="always")
def decay(x, d):
    magnitude = (abs(x) * ((1 << DECAY_SHIFT) - d)) >> DECAY_SHIFT
    return magnitude if x >= 0 else -magnitude


@numba.njit(cache=True, inline="always")
def shl(x, s):
    return x << s


@numba.njit(cache=True, inline="always")
def shr(x, s):
    return x >> s


@numba.njit(cache=True, inline="always")
def rshr(x, s):
    if s <= 0:
        return x << -s
    return (x + (np.int64(1) << (s - 1))) >> s


@numba.njit(cache=True, inline="always")
def clip(x, low, high):
    return min(max(x, low), high)


@numba.njit(cache=True, inline="always")
def wrap24(counts, x, slot):
    out = x - 2 * UV_MAX if x > UV_MAX else (x + 2 * UV_MAX if x <= -UV_MAX else x)
    counts[slot] += out != x
    return out


@numba.njit(cache=True, inline="always")
def sat(counts, x, low, high, slot):
    out = min(max(x, low), high)
    if slot != NONE:
        counts[slot] += out != x
    return out


@numba.njit(cache=True, inline="always")
def spike(c):
    return np.int64(c)


@numba.njit(cache=True, inline="always")
def port(y):
    return y


@numba.njit(cache=True, inline="always")
def maximum(a, b):
    return max(a, b)


@numba.njit(cache=True, inline="always")
def minimum(a, b):
    return min(a, b)


@numba.njit(cache=True, inline="always")
def absolute(x):
    return abs(x)


@numba.njit(cache=True, inline="always")
def softmax_row(v, logit_shift, prob):
    """IntArithmetic.softmax of one instance's readouts ``v`` into ``prob``."""
    top = v[0]
    for k in range(1, len(v)):
        top = max(top, v[k])
    total = np.int64(0)
    for k in range(len(v)):
        prob[k] = EXP_LUT[min(rshr(top - v[k], logit_shift), len(EXP_LUT) - 1)]
        total += prob[k]
    for k in range(len(v)):
        prob[k] = (prob[k] << PROB_FRAC) // total
'''


def _equations(text: str, indent: str) -> str:
    return "".join(f"{indent}{line}\n" for line in with_counters(text).splitlines()
                   if line.strip())


def _loads(names, source: str, indent: str) -> str:
    return "".join(f"{indent}{name} = {source.format(name=name)}\n" for name in names)


def kernel_source() -> str:
    """Source of the module holding :func:`rec_step` and :func:`readout_error_step`."""
    state, outs = RecState._fields, RecOut._fields[1:]
    arrays = ", ".join(f"{name}_" for name in state + outs)
    constants = "".join(f"{name} = {value}\n" for name, value in sorted(CONSTANTS.items()))
    rec = (f'''

@numba.njit(cache=True)
def rec_step({arrays}, a_x, a_rec, l_buff, p, counts):
    """neurons.REC_STEP of a group, in place: state and outputs (n_instances, size);
    ``a_x``, ``a_rec`` the two projections' ``a_buff`` (sent as int32 and summed in
    int32), ``l_buff`` the learning-signal input, ``p`` rec_table, ``counts`` (N_COUNTERS,)."""
    for i in range(u_.shape[0]):
        for j in range(u_.shape[1]):
            wide = np.int64(np.int32(a_x[i, j])) + np.int64(np.int32(a_rec[i, j]))
            a_in = np.int64(np.int32(wide))  # the InPort sums in int32
            counts[A_IN] += a_in != wide
            l_in = l_buff[i, j]
''' + "".join(f"            {name} = p[{k}, j]\n" for k, name in enumerate(RecParams._fields))
           + _loads(state, "{name}_[i, j]", " " * 12) + _equations(REC_STEP, " " * 12)
           + "".join(f"            {name}_[i, j] = {name}\n" for name in state + outs))
    error_fields = "".join(f"    {name} = error[{k}]\n" for k, name in enumerate(ErrorParams._fields))
    readout = f'''

@numba.njit(cache=True)
def readout_error_step(ru_, rv_, a_out, du, dv, target_, mask_, error, feedback, e_, y3_,
                       l_buff, counts):
    """neurons.READOUT_STEP, ERROR_STEP and the learning signal ``l = B e``, in place:
    readout ``ru_``, ``rv_`` (n_instances, n_out), ``a_out`` its projection's ``a_buff``
    (sent as int32), ``error`` error_table, ``feedback`` B (n_rec, n_out), outputs
    ``e_``, ``y3_`` (n_instances, n_out) and ``l_buff`` (n_instances, n_rec)."""
{error_fields}    prob_ = np.zeros(rv_.shape[1], np.int64)
    for i in range(rv_.shape[0]):
        for k in range(rv_.shape[1]):
            u = ru_[i, k]
            v = rv_[i, k]
            a_in = np.int64(np.int32(a_out[i, k]))
{_equations(READOUT_STEP, " " * 12)}            ru_[i, k] = u
            rv_[i, k] = v
        if classification:
            softmax_row(rv_[i], logit_shift, prob_)
        for k in range(rv_.shape[1]):
            v = rv_[i, k]
            target = target_[i, k]
            mask = mask_[i]
            prob = prob_[k]
{_equations(ERROR_STEP, " " * 12)}            e_[i, k] = e
            y3_[i, k] = y3
        for j in range(l_buff.shape[1]):
            signal = np.int64(0)
            for k in range(rv_.shape[1]):
                signal += feedback[j, k] * e_[i, k]
            l_buff[i, j] = signal
'''
    return (f'"""Generated by lava_eprop.engine.neurons_fused from the equations of\n'
            f'lava_eprop.engine.neurons; do not edit."""\n'
            f"# kernel_cache.fingerprint of lava_eprop.engine.neurons: "
            f"{kernel_cache.fingerprint('lava_eprop.engine.neurons')}\n"
            "import numba\nimport numpy as np\n\n"
            "from lava_eprop.engine.neurons import EXP_LUT\n\n" + constants
            + SCALAR_OPERATIONS + rec + readout)


def rec_table(p: RecParams, size: int) -> np.ndarray:
    """``p``'s fields as an int64 table (len(RecParams._fields), size), per neuron, in
    the order :func:`rec_step` reads them by name."""
    return np.stack([np.broadcast_to(np.asarray(value, np.int64), (size,))
                     for value in p]).copy()


def error_table(p: ErrorParams) -> np.ndarray:
    """``p`` as int64, in the order of ``ErrorParams._fields``."""
    return np.array([int(value) for value in p], np.int64)


_module = kernel_cache.load_generated("neuron_kernels", kernel_source())
rec_step = _module.rec_step
readout_error_step = _module.readout_error_step

