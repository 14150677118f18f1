"""The e-prop neurons' fixed-point arithmetic, written once, and its forms.

The recurrent LIF / ALIF neuron, the leaky readout and the error step are
each written once below, as equations (:data:`REC_STEP`,
:data:`READOUT_STEP`, :data:`ERROR_STEP`) over a handful of operations
whose rounding is a parameter (an *arithmetic*). Every form the project
runs is generated from that text:

* :func:`rec_step`, :func:`readout_step`, :func:`error_step`: NumPy int64
  (:data:`INT`), the specification. The Lava fixed-point process models
  (:mod:`process_models`) run them, and with ``counts`` they also count
  saturation and wrap-around events (the fast engine's NumPy path);
* :mod:`lava_eprop.engine.neurons_fused`: numba kernels, one neuron per loop
  iteration, generated from the same text with scalar operations, counting;
* :data:`FLOAT_EXACT`, :data:`FLOAT_CHIP`, :data:`FLOAT_PORTS`: float64
  forms (:func:`step_function`). ``FLOAT_EXACT`` has no rounding,
  truncation, wrap or saturation (the twin of :mod:`lava_eprop.quant.twin`);
  ``FLOAT_CHIP`` rounds where the chip rounds (the twin with ``chip=True``);
  ``FLOAT_PORTS`` is ``FLOAT_EXACT`` with the third factors rounded to the
  integers the 7-bit ports carry (the ``floating_pt`` process models).

Every array carries a leading instance axis (any leading shape works); the
integer arithmetic is int64 on values whose hardware width is given in the
comments, so nothing overflows. The equations are the specification a
Loihi 2 microcode neuron implements.

Operations (:class:`IntArithmetic` defines them for integers; Lava's
``PyLifModelBitAcc`` conventions, Loihi 2 widths):

* ``decay(x, d) = sign(x) * ((|x| * (4096 - d)) >> 12)``: 12-bit decay,
  magnitude truncated towards zero;
* ``shl(x, s) = x << s``; ``shr(x, s) = x >> s`` (floor);
  ``rshr(x, s) = (x + 2^(s-1)) >> s`` (rounds half up; ``x << -s`` for ``s <= 0``);
* ``wrap24(x, slot)``: the current ``u`` wraps modulo 2^24 as in Lava's LIF;
  ``sat(x, low, high, slot)``: a register's saturation (``v`` to
  ``[-(2^23 - 1), 2^23 - 1]``, 7-bit third factors, ...); ``slot`` names the
  counter of :data:`NEURON_COUNTERS` it adds to (``NONE``: not counted);
* ``clip(x, low, high)``: a bound of the model itself (the refractory
  count), the same in every arithmetic;
* ``spike(c)``: 0/1; ``port(y)``: what a 7-bit port carries (``y`` itself
  except in ``FLOAT_PORTS``); ``maximum``, ``minimum``, ``absolute``.

References: Bellec et al., "A solution to the learning dilemma for recurrent
networks of spiking neurons", Nat. Commun. 11:3625 (2020); Lava 0.10.0,
``lava/proc/lif/models.py``.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

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

#: Saturation and wrap-around events a neuron group's (or the readout and error
#: process's) counter array holds, in slot order: the int32 wrap of the summed
#: input ``a_in``, the 24-bit wrap of ``u``, the 24-bit saturation of ``v``,
#: ``b`` and ``f``, the 7-bit clip of the ``y3`` a neuron sends, the 16-bit
#: clip of the error ``e`` (unmasked steps) and the 7-bit clip of its ``y3``.
NEURON_COUNTERS = ("a_in", "u", "v", "b", "f", "y3", "e", "e_y3")
A_IN, U_WRAP, V_SAT, B_SAT, F_SAT, Y3_CLIP, E_SAT, E_Y3_CLIP = (
    NEURON_COUNTERS.index(name) for name in NEURON_COUNTERS)
NONE = -1                 # a saturation that no counter counts

# ------------------------------------------------------------------ equations
SUBTHRESHOLD = """
u = wrap24(decay(u, du + 1) + shl(a_in, V_SHIFT), U_WRAP)
v = sat(decay(v, dv) + u - reset, -UV_MAX + 1, UV_MAX - 1, V_SAT)
"""
"""Lava LIF's sub-threshold update (``PyLifModelBitAcc``, zero bias) minus a reset term."""

REC_STEP = """
theta = shl(vth, V_SHIFT)
reset = z * theta
""" + SUBTHRESHOLD + """
b = sat(decay(b, da) + beta_v * z, 0, UV_MAX - 1, B_SAT)
distance = v - (theta + b)
active = r <= 0
z = spike(active & (distance > 0))
closeness = maximum(0, theta - absolute(distance))
y2 = active * sat(shr(y2_mant * closeness, y2_shift), 0, TRACE_MAX, NONE)
y1 = sat(y1_leak + rshr(y1_mant * y2, Y1_FRAC), 0, TRACE_MAX, NONE)
f = sat(decay(f, f_decay) + f_impulse * z, 0, UV_MAX - 1, F_SAT)
acc = q + shr(reg_mant * (f - f_target), reg_shift)
g = rshr(acc, REG_FRAC)
q = acc - shl(g, REG_FRAC)
y3 = sat(Y_OFFSET + rshr(l_in, l_shift) + g, 0, TRACE_MAX, Y3_CLIP)
r = clip(r + n_ref * z - 1, 0, n_ref)
y1, y2, y3 = port(y1), port(y2), port(y3)
"""
"""One step of the e-prop recurrent neuron (LIF, or ALIF when ``beta_v > 0``).

Inputs: the state ``u, v, b, z, r, f, q`` of the previous step, ``a_in`` the
summed int32 synaptic input of this step, ``l_in`` the int32 learning-signal
input (``sum_k B_jk e_k``, sent one step late by the error process, so it is
the learning signal of the previous step), the parameters
(:class:`RecParams`). Outputs: the new state and ``z, y1, y2, y3``.

Line by line: reset by subtraction with the previous spike ``z``; ALIF
adaptation ``b`` (``beta_v = 0``: LIF); adaptive threshold ``theta + b``,
strict ``>`` as Lava's LIF; no spike while refractory (``r > 0``). ``y2`` is
``y2_per_psi`` times the pseudo-derivative of this step (the plan's
``y2_mant``/``y2_shift`` keep it <= 127; the saturation only guards other
parameters); ``y1 = y1_leak + round(y1_per_y2 * y2)`` with ``y1_mant =
round(y1_per_y2 * 2^12)`` (the leak of ALIF's eps). ``f`` is the
regulariser's rate trace, ``acc`` its term in units of ``2^-16`` of y3;
``g`` is sent and the rounding residual ``q`` carries to the next step, so
the sum of ``g`` over time equals the sum of the exact term to within one
unit (:func:`lava_eprop.engine.spec.reg_params`: ``c_reg (f_j - f0) / (B T
dt)`` times ``Lambda``). ``y3 - 64`` is ``Lambda * L`` plus that term.
"""

READOUT_STEP = "reset = 0\n" + SUBTHRESHOLD
"""Leaky readout: Lava LIF's sub-threshold step without threshold or bias. The
output sent this step is ``v`` (``y * Q * 64``)."""

ERROR_STEP = """
if classification:
    diff = rshr(prob - shl(target, PROB_FRAC), prob_shift)
else:
    diff = rshr(v - target, err_shift)
e = sat(diff * mask, -ERR_MAX, ERR_MAX, E_SAT)
y3 = port(sat(Y_OFFSET + rshr(e, ERR_FRAC), 0, TRACE_MAX, E_Y3_CLIP))
"""
"""The readout error of one step: payload ``e`` and the readout's ``y3``.

``v`` readout register, ``mask`` (0/1: the error counts this step),
``target``: regression: ``round(y* Q 64)`` in register units;
classification: the one-hot target (0/1), and ``prob`` the softmax of the
readouts in Q16 (:meth:`IntArithmetic.softmax`). So ``e = 2^6 Lambda (y -
y*)`` or ``2^6 Lambda (pi - y*)``, and the readout's ``y3 - 64 =
round(Lambda * error)``. Masked steps send ``e = 0`` (``clip(x) * mask ==
clip(x * mask)`` for a 0/1 mask; only unmasked steps count).
"""

OPERATIONS = ("decay", "shl", "shr", "rshr", "wrap24", "sat", "clip", "spike", "port",
              "maximum", "minimum", "absolute")
CONSTANTS = {name: value for name, value in globals().items()
             if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and isinstance(value, int)}
"""The integer constants the equations may name."""


def with_counters(text: str) -> str:
    """``text`` with the counter array passed to the counting operations:
    ``sat(...)`` and ``wrap24(...)`` become ``sat(counts, ...)``, ``wrap24(counts, ...)``."""
    return re.sub(r"\b(sat|wrap24)\(", r"\1(counts, ", text)


# ---------------------------------------------------------------- arithmetics
class IntArithmetic:
    """The chip's integer operations on NumPy int64 arrays (the specification)."""

    dtype = np.int64

    @staticmethod
    def decay(x, d):
        """``sign(x) * ((|x| * (4096 - d)) >> 12)`` (|x| < 2^24, d 12-bit)."""
        return np.sign(x) * ((np.abs(x) * (2 ** DECAY_SHIFT - np.asarray(d, np.int64)))
                             >> DECAY_SHIFT)

    @staticmethod
    def shl(x, s):
        return np.left_shift(x, s)

    @staticmethod
    def shr(x, s):
        return np.right_shift(x, s)

    @staticmethod
    def rshr(x, s):
        """Arithmetic shift right by ``s`` rounding half up (left by ``-s`` if ``s <= 0``)."""
        x = np.asarray(x, np.int64)
        if s <= 0:
            return x << -s
        return (x + (1 << (s - 1))) >> s

    @staticmethod
    def wrap24(counts, x, slot):
        """Lava's 24-bit wrap of ``u``: ``x > 2^23 -> x - 2^24``, ``x <= -2^23 -> x + 2^24``."""
        out = np.where(x > UV_MAX, x - 2 * UV_MAX, np.where(x <= -UV_MAX, x + 2 * UV_MAX, x))
        if counts is not None:
            counts[slot] += np.count_nonzero(out != x)
        return out

    @staticmethod
    def sat(counts, x, low, high, slot):
        out = np.clip(x, low, high)
        if counts is not None and slot != NONE:
            counts[slot] += np.count_nonzero(out != x)
        return out

    clip = staticmethod(np.clip)
    maximum, minimum, absolute = staticmethod(np.maximum), staticmethod(np.minimum), \
        staticmethod(np.abs)

    @staticmethod
    def spike(c):
        return np.asarray(c).astype(np.int64)

    @staticmethod
    def port(y):
        return y

    @staticmethod
    def softmax(v, logit_shift: int):
        """Fixed-point softmax over the last axis, Q16 (probabilities times 2^16).

        ``i_k = min(4095, rshr(max(v) - v_k, logit_shift))`` (logit gap in
        units of 1/256), ``x_k = EXP_LUT[i_k]`` (``round(2^16 exp(-i/256))``),
        ``pi_k = (x_k << 16) // sum_k x_k`` (floor; the sum is >= 2^16).
        """
        v = np.asarray(v, np.int64)
        gap = IntArithmetic.rshr(v.max(axis=-1, keepdims=True) - v, logit_shift)
        x = EXP_LUT[np.minimum(gap, len(EXP_LUT) - 1)]
        return (x << PROB_FRAC) // x.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class FloatArithmetic:
    """The same operations in float64, exact: decays multiply by ``(4096 - d) / 4096``,
    shifts multiply or divide by powers of two, registers neither wrap nor
    saturate, the softmax is exact (``exp``); with ``chip`` decays truncate
    towards zero, shifts floor or round half up, ``u`` wraps and registers
    saturate as the integers do (the softmax stays exact); with ``ports`` the
    third factors are sent rounded to the nearest integer and clipped to 7
    bits."""

    chip: bool = False
    ports: bool = False
    dtype: ClassVar[type] = float

    def decay(self, x, d):
        out = np.asarray(x, float) * (4096.0 - np.asarray(d, float)) / 4096.0
        return np.trunc(out) if self.chip else out

    @staticmethod
    def shl(x, s):
        return np.asarray(x, float) * 2.0 ** np.asarray(s, float)

    def shr(self, x, s):
        out = np.asarray(x, float) / 2.0 ** np.asarray(s, float)
        return np.floor(out) if self.chip and np.any(np.asarray(s) > 0) else out

    def rshr(self, x, s):
        out = np.asarray(x, float) / 2.0 ** np.asarray(s, float)
        return np.floor(out + 0.5) if self.chip and np.any(np.asarray(s) > 0) else out

    def wrap24(self, counts, x, slot):
        return IntArithmetic.wrap24(counts, x, slot) if self.chip else x

    def sat(self, counts, x, low, high, slot):
        return IntArithmetic.sat(counts, x, low, high, slot) if self.chip else x

    clip = staticmethod(np.clip)
    maximum, minimum, absolute = staticmethod(np.maximum), staticmethod(np.minimum), \
        staticmethod(np.abs)

    @staticmethod
    def spike(c):
        return np.asarray(c).astype(float)

    def port(self, y):
        return np.clip(np.round(y), 0, TRACE_MAX) if self.ports else y

    @staticmethod
    def softmax(v, logit_shift: int):
        """The exact softmax of ``v / 2^(logit_shift + 8)``, times 2^16."""
        logits = np.asarray(v, float) / 2.0 ** (logit_shift + SOFTMAX_FRAC)
        ex = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return ex / ex.sum(axis=-1, keepdims=True) * 2.0 ** PROB_FRAC


INT = IntArithmetic()
FLOAT_EXACT = FloatArithmetic()
FLOAT_CHIP = FloatArithmetic(chip=True)
FLOAT_PORTS = FloatArithmetic(ports=True)


def step_function(text: str, arguments, results, arithmetic, name: str = "step"):
    """The equations ``text`` as a Python function of ``arguments`` (names) and
    ``counts`` (the counter array, or None), returning the named ``results``,
    with the operations of ``arithmetic``."""
    namespace = {op: getattr(arithmetic, op) for op in OPERATIONS}
    namespace.update(CONSTANTS)
    body = "".join(f"    {line}\n" for line in with_counters(text).splitlines() if line.strip())
    source = (f"def {name}({', '.join(arguments)}, counts=None):\n{body}"
              f"    return {', '.join(results)}\n")
    exec(compile(source, f"<{name} equations>", "exec"), namespace)  # noqa: S102
    return namespace[name]


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


class Forms(NamedTuple):
    """:data:`REC_STEP`, :data:`READOUT_STEP` and :data:`ERROR_STEP` in one arithmetic.

    ``rec_step(s, a_in, l_in, p, counts=None) -> (RecState, RecOut)``;
    ``readout_step(s, a_in, p, counts=None) -> ReadoutState``;
    ``error_step(v, target, mask, p, counts=None) -> (e, y3)``, ``v`` and
    ``target`` ``[..., n_out]``, ``mask`` ``[...]``. ``counts``: an int64 array
    of :data:`NEURON_COUNTERS` slots that the step adds its events to.
    """

    rec_step: object
    readout_step: object
    error_step: object


@functools.lru_cache(maxsize=None)
def forms(arithmetic) -> Forms:
    """The neurons' steps in ``arithmetic`` (:data:`INT`, :data:`FLOAT_EXACT`, ...)."""
    def values(*xs):
        return (np.asarray(x, arithmetic.dtype) for x in xs)

    n_state = len(RecState._fields)
    rec = step_function(REC_STEP, RecState._fields + ("a_in", "l_in") + RecParams._fields,
                        RecState._fields + RecOut._fields, arithmetic, "rec_step")
    readout = step_function(READOUT_STEP, ("u", "v", "a_in", "du", "dv"), ("u", "v"),
                            arithmetic, "readout_step")
    error = step_function(ERROR_STEP, ("v", "target", "mask", "prob") + ErrorParams._fields,
                          ("e", "y3"), arithmetic, "error_step")

    def rec_step(s: RecState, a_in, l_in, p: RecParams, counts=None):
        """:data:`REC_STEP`: the state after the step and what the neuron sends."""
        out = rec(*values(*s, a_in, l_in, *p), counts=counts)
        return RecState(*out[:n_state]), RecOut(*out[n_state:])

    def readout_step(s: ReadoutState, a_in, p: ReadoutParams, counts=None) -> ReadoutState:
        """:data:`READOUT_STEP`: the readout's state after the step (``v`` is sent)."""
        return ReadoutState(*readout(*values(*s, a_in, *p), counts=counts))

    def error_step(v, target, mask, p: ErrorParams, counts=None):
        """:data:`ERROR_STEP`: the error payload ``e`` and the readout's ``y3``."""
        v, target, mask = values(v, target, np.asarray(mask)[..., None])
        prob = arithmetic.softmax(v, p.logit_shift) if p.classification else None
        return error(v, target, mask, prob, *p, counts=counts)

    return Forms(rec_step, readout_step, error_step)


#: The specification: :data:`REC_STEP`, :data:`READOUT_STEP` and
#: :data:`ERROR_STEP` in integers (what the fixed-point process models run).
rec_step, readout_step, error_step = forms(INT)
#: The same in float64 with the third factors rounded to the ports' integers (the
#: ``floating_pt`` process models: no truncation, wrap or saturation).
FLOAT_PORT_STEPS = forms(FLOAT_PORTS)
decay, round_shift, softmax_q16 = INT.decay, INT.rshr, INT.softmax


def learning_signal(b: np.ndarray, e: np.ndarray, dtype=np.int64) -> np.ndarray:
    """``l_j = sum_k B_jk e_k``: int64 of 8-bit+sign ``B`` times 16-bit ``e`` (fits
    int32); ``dtype=float`` for the float models."""
    return np.einsum("...jk,...k->...j", np.asarray(b, dtype), np.asarray(e, dtype))
