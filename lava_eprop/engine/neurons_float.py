"""Floating-point twins of :mod:`lava_eprop.engine.neurons` (the ``floating_pt`` models).

Same parameters, units and order of operations as the fixed-point kernels,
computed in float64 without truncation: every decay is an exact
multiplication by ``(4096 - d) / 4096``, shifts are exact divisions, the
registers neither wrap nor saturate, the softmax is exact and the regulariser's
term is added to y3 exactly (no residual ``q``, which stays 0). Only the
third factors (integers on the learning engine's ports) are rounded to the
nearest integer and clipped to 7 bits. Use them to see what the integer
truncations cost, not for bit-exact comparisons.
"""
from __future__ import annotations

import numpy as np

from lava_eprop.engine.neurons import (
    ERR_FRAC,
    ERR_MAX,
    PROB_FRAC,
    REG_FRAC,
    SOFTMAX_FRAC,
    TRACE_MAX,
    V_SHIFT,
    Y1_FRAC,
    Y_OFFSET,
    ErrorParams,
    ReadoutParams,
    ReadoutState,
    RecOut,
    RecParams,
    RecState,
)


def _leak(x, d):
    return np.asarray(x, float) * (4096.0 - np.asarray(d, float)) / 4096.0


def rec_step(s: RecState, a_in, l_in, p: RecParams) -> tuple[RecState, RecOut]:
    """Float twin of :func:`lava_eprop.engine.neurons.rec_step`."""
    vth = np.asarray(p.vth, float) * 2.0 ** V_SHIFT
    u = _leak(s.u, np.asarray(p.du) + 1) + np.asarray(a_in, float) * 2.0 ** V_SHIFT
    v = _leak(s.v, p.dv) + u - s.z * vth
    b = np.maximum(_leak(s.b, p.da) + np.asarray(p.beta_v, float) * s.z, 0.0)
    distance = v - (vth + b)
    active = s.r <= 0
    z = (active & (distance > 0)).astype(float)
    y2 = active * np.asarray(p.y2_mant, float) * np.maximum(0.0, vth - np.abs(distance)) \
        / 2.0 ** np.asarray(p.y2_shift, float)
    y1 = np.minimum(TRACE_MAX, np.asarray(p.y1_leak, float)
                    + np.asarray(p.y1_mant, float) * y2 / 2.0 ** Y1_FRAC)
    f = _leak(s.f, p.f_decay) + np.asarray(p.f_impulse, float) * z
    reg = np.asarray(p.reg_mant, float) * (f - np.asarray(p.f_target, float)) \
        / 2.0 ** (np.asarray(p.reg_shift, float) + REG_FRAC)
    y3 = np.clip(Y_OFFSET + np.asarray(l_in, float) / 2.0 ** p.l_shift + reg, 0, TRACE_MAX)
    r = np.clip(s.r + p.n_ref * z - 1, 0, p.n_ref)
    rounded = [np.clip(np.round(y), 0, TRACE_MAX) for y in (y1, y2, y3)]
    return RecState(u, v, b, z, r, f, np.zeros_like(f)), RecOut(z, *rounded)


def readout_step(s: ReadoutState, a_in, p: ReadoutParams) -> ReadoutState:
    """Float twin of :func:`lava_eprop.engine.neurons.readout_step`."""
    u = _leak(s.u, p.du + 1) + np.asarray(a_in, float) * 2.0 ** V_SHIFT
    return ReadoutState(u, _leak(s.v, p.dv) + u)


def error_step(v, target, mask, p: ErrorParams) -> tuple[np.ndarray, np.ndarray]:
    """Float twin of :func:`lava_eprop.engine.neurons.error_step` (exact softmax)."""
    v = np.asarray(v, float)
    if p.classification:
        logits = v / 2.0 ** (p.logit_shift + SOFTMAX_FRAC)
        ex = np.exp(logits - logits.max(axis=-1, keepdims=True))
        diff = (ex / ex.sum(axis=-1, keepdims=True) - np.asarray(target, float)) * 2.0 ** PROB_FRAC
        e = diff / 2.0 ** p.prob_shift
    else:
        e = (v - np.asarray(target, float)) / 2.0 ** p.err_shift
    e = np.clip(e, -ERR_MAX, ERR_MAX) * np.asarray(mask, float)[..., None]
    return e, np.clip(np.round(Y_OFFSET + e / 2.0 ** ERR_FRAC), 0, TRACE_MAX)


def learning_signal(b, e) -> np.ndarray:
    """``l_j = sum_k B_jk e_k`` in float."""
    return np.einsum("...jk,...k->...j", np.asarray(b, float), np.asarray(e, float))
