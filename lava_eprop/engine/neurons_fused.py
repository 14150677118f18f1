"""The neuron kernels of :mod:`lava_eprop.engine.neurons`, compiled (numba), in place.

:mod:`lava_eprop.engine.neurons` is the specification (and what the Lava
process models run); this module executes the same integer arithmetic,
element by element in int64, for :class:`~lava_eprop.engine.network.FastNetwork`
with ``fused=True``: one call per recurrent group (:func:`rec_step`) and one
for the readout, the error and the learning signal
(:func:`readout_error_step`) per time step. State arrays are updated in
place. The calls also count the events ``FastNetwork`` counts (int32 wrap of
``a_in``, 24-bit wrap of ``u``, 24-bit saturation of ``v``, ``b`` and ``f``,
clips of the ``y3`` sent and of the error ``e`` and its ``y3``) by comparing
the wrapped or clipped value with the unbounded one, which is what the NumPy
path's checks amount to. ``tests/test_engine_neurons_fused.py`` runs both
paths side by side.
"""
from __future__ import annotations

import numpy as np

from lava_eprop.engine.fused import AVAILABLE
from lava_eprop.engine.neurons import (
    DECAY_SHIFT,
    ERR_FRAC,
    ERR_MAX,
    EXP_LUT,
    PROB_FRAC,
    REG_FRAC,
    TRACE_MAX,
    UV_MAX,
    V_SHIFT,
    Y1_FRAC,
    Y_OFFSET,
    ErrorParams,
    RecParams,
)

if AVAILABLE:
    import numba

    from lava_eprop import kernel_cache  # noqa: F401  keys the numba cache below

#: Counter slots of :func:`rec_step` (group): int32 wrap of ``a_in``, 24-bit wrap of
#: ``u``, saturation of ``v``, ``b``, ``f``, clip of the ``y3`` sent; of
#: :func:`readout_error_step`: ``u``, ``v`` of the readout, clip of ``e`` and of its ``y3``.
A_IN, U_WRAP, V_SAT, B_SAT, F_SAT, Y3_CLIP = range(6)
E_SAT, E_Y3_CLIP = B_SAT, Y3_CLIP
N_COUNTERS = 6


def rec_table(p: RecParams, size: int) -> np.ndarray:
    """``p``'s fields as an int64 table (len(RecParams._fields), size), per neuron."""
    return np.stack([np.broadcast_to(np.asarray(value, np.int64), (size,))
                     for value in p]).copy()


def error_table(p: ErrorParams) -> np.ndarray:
    """``p`` as int64 (classification, err_shift, logit_shift, prob_shift)."""
    return np.array([int(p.classification), p.err_shift, p.logit_shift, p.prob_shift], np.int64)


if AVAILABLE:
    _DU, _DV, _VTH, _N_REF, _Y2_MANT, _Y2_SHIFT, _L_SHIFT, _DA, _BETA_V, _Y1_LEAK, _Y1_MANT, \
        _F_DECAY, _F_IMPULSE, _F_TARGET, _REG_MANT, _REG_SHIFT = range(len(RecParams._fields))
    _LUT = EXP_LUT.copy()
    _LUT_LAST = len(EXP_LUT) - 1

    @numba.njit(cache=True, inline="always")
    def _decay(x, d):
        """``sign(x) * ((|x| * (4096 - d)) >> 12)``."""
        magnitude = (abs(x) * ((1 << DECAY_SHIFT) - d)) >> DECAY_SHIFT
        return magnitude if x >= 0 else -magnitude

    @numba.njit(cache=True, inline="always")
    def _round_shift(x, s):
        """Shift right by ``s`` rounding half up (left by ``-s`` if ``s <= 0``)."""
        if s <= 0:
            return x << -s
        return (x + (np.int64(1) << (s - 1))) >> s

    @numba.njit(cache=True, inline="always")
    def _wrap24(x):
        if x > UV_MAX:
            return x - 2 * UV_MAX
        if x <= -UV_MAX:
            return x + 2 * UV_MAX
        return x

    @numba.njit(cache=True, inline="always")
    def _clip(x, low, high):
        return min(max(x, low), high)

    @numba.njit(cache=True, inline="always")
    def _subthreshold(u, v, a_in, du, dv, reset, counts):
        """:func:`neurons.subthreshold` of one neuron, counting the u wrap and v saturation."""
        wide_u = _decay(u, du + 1) + (a_in << V_SHIFT)
        u = _wrap24(wide_u)
        wide_v = _decay(v, dv) + u - reset
        v = _clip(wide_v, -UV_MAX + 1, UV_MAX - 1)
        counts[U_WRAP] += u != wide_u
        counts[V_SAT] += v != wide_v
        return u, v

    @numba.njit(cache=True)
    def rec_step(u, v, b, z, r, f, q, y1, y2, y3, a_x, a_rec, l_in, p, counts):
        """:func:`neurons.rec_step` of a group, in place: state ``u .. q`` and
        outputs ``y1 .. y3`` (n_instances, size); ``a_x``, ``a_rec`` the two
        projections' ``a_buff`` (sent as int32 and summed in int32), ``l_in`` the
        learning-signal input, ``p`` :func:`rec_table`, ``counts`` (N_COUNTERS,) int64."""
        n, size = u.shape
        for i in range(n):
            for j in range(size):
                wide = np.int64(np.int32(a_x[i, j])) + np.int64(np.int32(a_rec[i, j]))
                a_in = np.int64(np.int32(wide))          # the InPort sums in int32
                counts[A_IN] += a_in != wide
                vth = p[_VTH, j] << V_SHIFT
                z_prev = z[i, j]
                u_new, v_new = _subthreshold(u[i, j], v[i, j], a_in, p[_DU, j], p[_DV, j],
                                             z_prev * vth, counts)
                wide = _decay(b[i, j], p[_DA, j]) + p[_BETA_V, j] * z_prev
                b_new = _clip(wide, 0, UV_MAX - 1)
                counts[B_SAT] += b_new != wide
                distance = v_new - (vth + b_new)
                active = r[i, j] <= 0
                z_new = np.int64(active and distance > 0)
                closeness = max(0, vth - abs(distance))
                y2_new = np.int64(active) * min(TRACE_MAX, (p[_Y2_MANT, j] * closeness)
                                                >> p[_Y2_SHIFT, j])
                y1_new = min(TRACE_MAX, p[_Y1_LEAK, j]
                             + _round_shift(p[_Y1_MANT, j] * y2_new, Y1_FRAC))
                wide = _decay(f[i, j], p[_F_DECAY, j]) + p[_F_IMPULSE, j] * z_new
                f_new = _clip(wide, 0, UV_MAX - 1)
                counts[F_SAT] += f_new != wide
                acc = q[i, j] + ((p[_REG_MANT, j] * (f_new - p[_F_TARGET, j]))
                                 >> p[_REG_SHIFT, j])
                g = _round_shift(acc, REG_FRAC)
                q[i, j] = acc - (g << REG_FRAC)
                wide = Y_OFFSET + _round_shift(l_in[i, j], p[_L_SHIFT, j]) + g
                y3[i, j] = _clip(wide, 0, TRACE_MAX)
                counts[Y3_CLIP] += y3[i, j] != wide
                r[i, j] = _clip(r[i, j] + p[_N_REF, j] * z_new - 1, 0, p[_N_REF, j])
                u[i, j], v[i, j], b[i, j], z[i, j], f[i, j] = u_new, v_new, b_new, z_new, f_new
                y1[i, j], y2[i, j] = y1_new, y2_new

    @numba.njit(cache=True)
    def readout_error_step(ru, rv, a_out, du, dv, target, mask, error, feedback, e, y3, l_buff,
                           counts):
        """:func:`neurons.readout_step`, :func:`neurons.error_step` and
        :func:`neurons.learning_signal`, in place: readout ``ru``, ``rv``
        (n_instances, n_out), ``a_out`` its projection's ``a_buff`` (sent as
        int32), ``error`` :func:`error_table`, ``feedback`` B (n_rec, n_out),
        outputs ``e``, ``y3`` (n_instances, n_out) and ``l_buff`` (n_instances,
        n_rec); ``counts`` (N_COUNTERS,) int64 (``u``, ``v``, ``e``, ``y3`` slots)."""
        n, n_out = rv.shape
        classification, err_shift, logit_shift, prob_shift = error[0], error[1], error[2], \
            error[3]
        gap_lut = np.empty(n_out, np.int64)
        for i in range(n):
            for k in range(n_out):
                ru[i, k], rv[i, k] = _subthreshold(ru[i, k], rv[i, k],
                                                   np.int64(np.int32(a_out[i, k])), du, dv,
                                                   np.int64(0), counts)
            if classification:  # softmax_q16 over the readouts of instance i
                top = rv[i, 0]
                for k in range(1, n_out):
                    top = max(top, rv[i, k])
                total = np.int64(0)
                for k in range(n_out):
                    gap_lut[k] = _LUT[min(_round_shift(top - rv[i, k], logit_shift), _LUT_LAST)]
                    total += gap_lut[k]
            for k in range(n_out):
                if classification:
                    diff = (gap_lut[k] << PROB_FRAC) // total - (target[i, k] << PROB_FRAC)
                    err = _round_shift(diff, prob_shift)
                else:
                    err = _round_shift(rv[i, k] - target[i, k], err_shift)
                clipped = _clip(err, -ERR_MAX, ERR_MAX)
                counts[E_SAT] += (clipped != err) and mask[i] != 0
                err = clipped * mask[i]
                e[i, k] = err
                wide = Y_OFFSET + _round_shift(err, ERR_FRAC)
                y3[i, k] = _clip(wide, 0, TRACE_MAX)
                counts[E_Y3_CLIP] += y3[i, k] != wide
            for j in range(l_buff.shape[1]):
                signal = np.int64(0)
                for k in range(n_out):
                    signal += feedback[j, k] * e[i, k]
                l_buff[i, j] = signal
