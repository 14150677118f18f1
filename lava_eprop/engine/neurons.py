"""Fixed-point e-prop neuron kernels: pure step functions over explicit state tuples.

These functions are the single source of the neurons' integer arithmetic: the
Lava fixed-point process models (:mod:`process_models`) and the fast engine
(:mod:`lava_eprop.engine.network`) both call them. Every array carries a
leading instance axis (any leading shape works); all arithmetic is int64 on
values whose hardware width is given in the comments, so nothing overflows.
The docstrings are the specification a Loihi 2 microcode neuron implements.

Common primitives (Lava's ``PyLifModelBitAcc`` conventions, Loihi 2 widths):

* ``decay(x, d) = sign(x) * ((|x| * (4096 - d)) >> 12)``: 12-bit decay,
  magnitude truncated towards zero.
* ``round_shift(x, s) = (x + 2^(s-1)) >> s`` (arithmetic; rounds half up)
  for ``s > 0`` and ``x << -s`` for ``s <= 0``.
* 24-bit registers: the current ``u`` wraps modulo 2^24 as in Lava's LIF,
  the voltage ``v`` saturates to ``[-(2^23 - 1), 2^23 - 1]``.

References: Bellec et al., "A solution to the learning dilemma for recurrent
networks of spiking neurons", Nat. Commun. 11:3625 (2020); Lava 0.10.0,
``lava/proc/lif/models.py``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

DECAY_SHIFT = 12          # decays are 12-bit fractions of 4096
V_SHIFT = 6               # threshold and synaptic input are MSB-aligned by 6 bits
UV_MAX = 2 ** 23          # 24-bit signed u, v registers
Y_OFFSET = 64             # y3 = 64 + signal (compilers.fixedpoint.Y3_OFFSET)
TRACE_MAX = 127           # 7-bit third factors y1..y3
ERR_MAX = 2 ** 15 - 1     # error payload: 16-bit signed
ERR_FRAC = 6              # error payload = readout y3 signal << 6 (6 extra fractional bits)
Y1_FRAC = 12              # y1's y2 coefficient is a 12-bit fraction
SOFTMAX_FRAC = 8          # softmax logit differences in units of 1/256
REG_FRAC = 16             # the regulariser's residual q is in units of 2^-16 of y3
PROB_FRAC = 16            # probabilities in Q16
EXP_LUT = np.round(2.0 ** PROB_FRAC * np.exp(-np.arange(16 * 2 ** SOFTMAX_FRAC)
                                             / 2.0 ** SOFTMAX_FRAC)).astype(np.int64)
"""``round(2^16 exp(-i/256))`` for ``i = 0 .. 4095`` (exp(-16) and below read as the last)."""


def decay(x: np.ndarray, d) -> np.ndarray:
    """``sign(x) * ((|x| * (4096 - d)) >> 12)`` (int64; |x| < 2^24, d 12-bit)."""
    x = np.asarray(x, np.int64)
    return np.sign(x) * ((np.abs(x) * (2 ** DECAY_SHIFT - np.asarray(d, np.int64)))
                         >> DECAY_SHIFT)


def round_shift(x: np.ndarray, s: int) -> np.ndarray:
    """Arithmetic shift right by ``s`` rounding half up (left by ``-s`` if ``s <= 0``)."""
    x = np.asarray(x, np.int64)
    if s <= 0:
        return x << -s
    return (x + (1 << (s - 1))) >> s


def wrap24(x: np.ndarray) -> np.ndarray:
    """Lava's 24-bit wrap of ``u``: ``x > 2^23 -> x - 2^24``, ``x <= -2^23 -> x + 2^24``."""
    x = np.asarray(x, np.int64)
    return np.where(x > UV_MAX, x - 2 * UV_MAX, np.where(x <= -UV_MAX, x + 2 * UV_MAX, x))


def clip24(x: np.ndarray) -> np.ndarray:
    """Saturate to the 24-bit voltage range ``[-(2^23 - 1), 2^23 - 1]``."""
    return np.clip(np.asarray(x, np.int64), -UV_MAX + 1, UV_MAX - 1)


def subthreshold(u, v, a_in, du, dv, reset=0):
    """Lava LIF's sub-threshold update plus a reset term (``PyLifModelBitAcc``).

    ``u' = wrap24(int32(decay(u, du + 1)) + (a_in << 6))``;
    ``v' = clip24(decay(v, dv) + u' - reset)``. With ``reset = 0`` this is
    exactly Lava's ``subthr_dynamics`` with zero bias.
    """
    u = wrap24(decay(u, np.asarray(du, np.int64) + 1) + (np.asarray(a_in, np.int64) << V_SHIFT))
    v = clip24(decay(v, dv) + u - reset)
    return u, v


# ---------------------------------------------------------------- recurrent
class RecParams(NamedTuple):
    """Integer parameters of a recurrent LIF / ALIF group (per neuron or scalar).

    du, dv : 12-bit decays; vth : 17-bit threshold mantissa (``vth << 6``)
    n_ref : refractory steps; y2_mant (8 bits), y2_shift : psi scaling
    l_shift : learning-signal shift into y3 (``round_shift(l_in, l_shift)``)
    da (12-bit), beta_v (24-bit) : ALIF adaptation (0 for LIF)
    y1_leak (7-bit), y1_mant (12-bit fraction) : y1 for ALIF's eps (0 if unused)
    f_decay (12-bit), f_impulse, f_target (24-bit) : the firing-rate trace of the
        regulariser; reg_mant (8 bits), reg_shift : its scale into y3
        (``reg_mant = 0``: no regulariser)
    """

    du: int
    dv: int
    vth: int
    n_ref: int
    y2_mant: int
    y2_shift: int
    l_shift: int
    da: int = 0
    beta_v: int = 0
    y1_leak: int = 0
    y1_mant: int = 0
    f_decay: int = 0
    f_impulse: int = 0
    f_target: int = 0
    reg_mant: int = 0
    reg_shift: int = 0


class RecState(NamedTuple):
    """State after a step: ``u``, ``v``, ``b`` (24-bit), ``z`` (0/1), ``r`` (refractory
    count), the regulariser's rate trace ``f`` (24-bit) and residual ``q`` (17-bit signed)."""

    u: np.ndarray
    v: np.ndarray
    b: np.ndarray
    z: np.ndarray
    r: np.ndarray
    f: np.ndarray
    q: np.ndarray


class RecOut(NamedTuple):
    """What the neuron sends this step: spikes (also bap) and third factors y1..y3."""

    z: np.ndarray
    y1: np.ndarray
    y2: np.ndarray
    y3: np.ndarray


def rec_initial(shape, p: RecParams | None = None) -> RecState:
    """All-zero int64 state, except the rate trace ``f = p.f_target`` (no rate
    evidence yet, so the regulariser starts silent)."""
    zeros = [np.zeros(shape, np.int64) for _ in RecState._fields]
    if p is not None:
        zeros[RecState._fields.index("f")] += np.asarray(p.f_target, np.int64)
    return RecState(*zeros)


def rec_step(s: RecState, a_in, l_in, p: RecParams) -> tuple[RecState, RecOut]:
    """One step of the e-prop recurrent neuron (LIF, or ALIF when ``beta_v > 0``).

    Inputs: ``a_in`` the summed int32 synaptic input of this step, ``l_in``
    the int32 learning-signal input (``sum_k B_jk e_k``, sent one step late by
    the error process, so it is the learning signal of the previous step).
    In this order, all int64::

        u  = wrap24(decay(u, du + 1) + (a_in << 6))
        v  = clip24(decay(v, dv) + u - z * (vth << 6))   reset by subtraction
                                                          with the previous spike z
        b  = clip(decay(b, da) + beta_v * z, 0, 2^23 - 1) ALIF adaptation
        A  = (vth << 6) + b                               adaptive threshold
        on = r <= 0                                       not refractory
        z' = on & (v > A)                                 strict >, as Lava's LIF
        y2 = on * min(127, (y2_mant * max(0, (vth << 6) - |v - A|)) >> y2_shift)
        y1 = min(127, y1_leak + ((y1_mant * y2 + 2^11) >> 12))
        f  = clip(decay(f, f_decay) + f_impulse * z', 0, 2^23 - 1)   rate trace
        a  = q + ((reg_mant * (f - f_target)) >> reg_shift)   regulariser, 2^-16 y3
        g  = round_shift(a, 16);  q = a - (g << 16)           error feedback:
                                                          the rounding residual
                                                          carries to the next step
        y3 = clip(64 + round_shift(l_in, l_shift) + g, 0, 127)
        r  = clip(r + n_ref * z' - 1, 0, n_ref)

    (the plan's ``y2_mant``/``y2_shift`` keep y2 <= 127; the ``min`` only
    guards other parameters). ``y2`` is ``y2_per_psi`` times the pseudo-derivative of this step, ``y1``
    is ``y1_leak + round(y1_per_y2 * y2)`` with ``y1_mant = round(y1_per_y2
    * 2^12)`` (the leak of ALIF's eps), ``y3 - 64`` is ``Lambda * L``; ``g``
    adds ``Lambda`` times the firing-rate regulariser's signal ``c_reg (f_j -
    f0) / (B T dt)`` with the rate ``f_j`` read from the trace ``f`` (see
    :func:`lava_eprop.engine.spec.reg_params`). Its error-feedback rounding
    keeps the regulariser's sub-unit signal: the sum of ``g`` over time
    equals the sum of the exact term to within one unit.
    """
    z_prev = s.z
    vth = np.asarray(p.vth, np.int64) << V_SHIFT                 # 23-bit effective threshold
    u, v = subthreshold(s.u, s.v, a_in, p.du, p.dv, z_prev * vth)
    b = np.clip(decay(s.b, p.da) + np.asarray(p.beta_v, np.int64) * z_prev, 0, UV_MAX - 1)
    distance = v - (vth + b)                                      # 25-bit signed
    active = s.r <= 0
    z = (active & (distance > 0)).astype(np.int64)
    closeness = np.maximum(0, vth - np.abs(distance))             # <= 2^23
    y2 = active * np.minimum(TRACE_MAX, (np.asarray(p.y2_mant, np.int64) * closeness)
                             >> np.asarray(p.y2_shift, np.int64))  # 7-bit
    y1 = np.minimum(TRACE_MAX, np.asarray(p.y1_leak, np.int64)
                    + round_shift(np.asarray(p.y1_mant, np.int64) * y2, Y1_FRAC))
    f = np.clip(decay(s.f, p.f_decay) + np.asarray(p.f_impulse, np.int64) * z, 0, UV_MAX - 1)
    acc = s.q + ((np.asarray(p.reg_mant, np.int64) * (f - np.asarray(p.f_target, np.int64)))
                 >> np.asarray(p.reg_shift, np.int64))             # 2^-16 units of y3
    g = round_shift(acc, REG_FRAC)
    q = acc - (g << REG_FRAC)                                     # 17-bit signed residual
    y3 = np.clip(Y_OFFSET + round_shift(l_in, p.l_shift) + g, 0, TRACE_MAX)
    r = np.clip(s.r + np.asarray(p.n_ref, np.int64) * z - 1, 0, p.n_ref)
    return RecState(u, v, b, z, r, f, q), RecOut(z, y1, y2, y3)


# ------------------------------------------------------------------ readout
class ReadoutParams(NamedTuple):
    """12-bit decays of the leaky readout (``du = 4095``: input goes straight to v)."""

    du: int
    dv: int


class ReadoutState(NamedTuple):
    """24-bit ``u`` and ``v``; ``v`` holds ``y * Q * 64``."""

    u: np.ndarray
    v: np.ndarray


def readout_initial(shape) -> ReadoutState:
    return ReadoutState(np.zeros(shape, np.int64), np.zeros(shape, np.int64))


def readout_step(s: ReadoutState, a_in, p: ReadoutParams) -> ReadoutState:
    """Leaky readout: Lava LIF's sub-threshold step without threshold or bias.

    ``u = wrap24(decay(u, du + 1) + (a_in << 6))``, ``v = clip24(decay(v, dv) + u)``.
    The output sent this step is ``v``.
    """
    return ReadoutState(*subthreshold(s.u, s.v, a_in, p.du, p.dv))


# -------------------------------------------------------------------- error
class ErrorParams(NamedTuple):
    """Integer parameters of the error / learning-signal computation.

    classification : softmax cross-entropy (else regression, MSE)
    err_shift : readout register units -> error payload (regression)
    logit_shift : readout register units -> logit units of 1/256 (classification)
    prob_shift : Q16 probability error -> error payload (classification)
    """

    classification: bool
    err_shift: int
    logit_shift: int
    prob_shift: int


def error_params(classification: bool, voltage_scale: float, y3_per_signal: float) -> ErrorParams:
    """Shifts for a readout with register ``y * Q * 64`` and y3 scale ``Lambda``.

    The error payload is ``e = Lambda * 2^6 * err`` (``Q``, ``Lambda`` powers
    of two, so every conversion is a shift).
    """
    q, lam = int(math.log2(voltage_scale)), int(math.log2(y3_per_signal))
    return ErrorParams(classification, err_shift=q - lam,
                       logit_shift=q + V_SHIFT - SOFTMAX_FRAC,
                       prob_shift=PROB_FRAC - lam - ERR_FRAC)


def softmax_q16(v: np.ndarray, logit_shift: int) -> np.ndarray:
    """Fixed-point softmax over the last axis, Q16 (probabilities times 2^16).

    ``i_k = min(4095, round_shift(max(v) - v_k, logit_shift))`` (logit gap in
    units of 1/256), ``x_k = EXP_LUT[i_k]`` (``round(2^16 exp(-i/256))``),
    ``pi_k = (x_k << 16) // sum_k x_k`` (floor; the sum is >= 2^16).
    """
    v = np.asarray(v, np.int64)
    gap = round_shift(v.max(axis=-1, keepdims=True) - v, logit_shift)
    x = EXP_LUT[np.minimum(gap, len(EXP_LUT) - 1)]
    return (x << PROB_FRAC) // x.sum(axis=-1, keepdims=True)


def error_step(v, target, mask, p: ErrorParams) -> tuple[np.ndarray, np.ndarray]:
    """The readout error of one step: payload ``e`` and the readout's ``y3``.

    ``v`` readout registers ``[..., n_out]``; ``mask`` ``[...]`` (0/1: the
    error counts this step); ``target``: regression: ``round(y* Q 64)`` in
    register units; classification: the one-hot target (0/1).

    * regression: ``e = clip(round_shift(v - target, err_shift), +-(2^15-1))``
    * classification: ``e = clip(round_shift(softmax_q16(v) - (target << 16),
      prob_shift), +-(2^15-1))``
    * both: ``e *= mask``; ``y3 = clip(64 + round_shift(e, 6), 0, 127)``.

    So ``e = 2^6 Lambda (y - y*)`` or ``2^6 Lambda (pi - y*)``, and the
    readout's ``y3 - 64 = round(Lambda * error)``.
    """
    if p.classification:
        diff = softmax_q16(v, p.logit_shift) - (np.asarray(target, np.int64) << PROB_FRAC)
        e = round_shift(diff, p.prob_shift)
    else:
        e = round_shift(np.asarray(v, np.int64) - np.asarray(target, np.int64), p.err_shift)
    e = np.clip(e, -ERR_MAX, ERR_MAX) * np.asarray(mask, np.int64)[..., None]
    y3 = np.clip(Y_OFFSET + round_shift(e, ERR_FRAC), 0, TRACE_MAX)
    return e, y3


def learning_signal(b_int: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``l_j = sum_k B_jk e_k``: int64 of 8-bit+sign ``B`` times 16-bit ``e`` (fits int32)."""
    return np.einsum("...jk,...k->...j", np.asarray(b_int, np.int64), np.asarray(e, np.int64))
