"""Fixed-point primitives of Loihi 2's learning engine, as Lava 0.10.0 models it.

Everything here is read off Lava's source (``lava/magma/core/learning``):

* A learning-rule scale constant is ``m * 2^e`` with mantissa ``m`` in
  [-8, 7] and exponent ``e`` in [-7, 8] (``product_series.py``; an even
  mantissa beyond 7 is halved into the exponent, so magnitudes ``1..8 * 2^e``
  are representable except ``8 * 2^8``).
* The bit-approximate applier multiplies the factors of a product, right
  shifts the result by ``S = max(0, sum(widths) + 4 - 15)`` (widths: traces
  7 bits, ``w``, ``t``, ``d`` 9 bits, the mantissa 4 bits), floors, and adds
  ``floor(m * prod / 2^S) * 2^e`` to the synaptic variable held with 7
  fractional bits; the sum is then stochastically rounded to an integer
  (``learning_rule_applier.py``, ``connection.py``). The effective real
  coefficient of a product is therefore ``m * 2^e / 2^S``.
* Neuron decays are 12-bit: ``dv`` in 0..4095 decays by ``(4096 - dv) / 4096``
  (``lava/proc/lif/models.py``).

Lowering a real number to a scale, or a decay to 12 bits, has a
representation error; :class:`Approximation` records it.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import lru_cache

from lava_eprop.loihi import constants as lc

EXPONENT_RANGE = (-7, 8)
DECAY_BITS = 12
DECAY_UNITY = 2 ** DECAY_BITS
TRACE_MAX = 2 ** lc.W_TRACE - 1            # 127: x1, y1..y3 are 7-bit
SYN_VAR_MAX = 2 ** lc.W_WEIGHTS_U - 1      # 255: |w|, |t|, d are 8 bits (+ sign)
WEIGHT_EXP_RANGE = (-8, 7)
Y3_OFFSET = 64                             # y3 = 64 + signal: unsigned trace, signed factor
WIDTHS = {"trace": lc.W_TRACE, "weight": lc.W_WEIGHTS_S, "tag": lc.W_TAG_1_S,
          "delay": lc.W_TAG_2_S, "mantissa": lc.W_S_MANT, "accumulator": lc.W_ACCUMULATOR_S,
          "trace_impulse_fraction": lc.W_TRACE_FRACTIONAL_PART, "decay": DECAY_BITS}


@dataclass(frozen=True)
class Scale:
    """A learning-rule scale constant ``mantissa * 2^exponent`` (Lava's literal).

    Stored canonically: the mantissa is odd unless the exponent is at its
    maximum, so each value has one spelling.
    """

    mantissa: int
    exponent: int

    @property
    def value(self) -> float:
        return self.mantissa * 2.0 ** self.exponent

    def literal(self) -> str:
        """Lava's literal syntax of the magnitude, e.g. ``3*2^-7``."""
        return f"{abs(self.mantissa)}*2^{self.exponent}"

    @staticmethod
    def canonical(mantissa: int, exponent: int) -> Scale:
        while mantissa and mantissa % 2 == 0 and exponent < EXPONENT_RANGE[1]:
            mantissa, exponent = mantissa // 2, exponent + 1
        return Scale(mantissa, exponent)


@lru_cache(maxsize=1)
def magnitudes() -> tuple[Scale, ...]:
    """Every representable positive scale magnitude, ascending (distinct values)."""
    lo, hi = EXPONENT_RANGE
    found = {}
    for e in range(lo, hi + 1):
        for m in range(1, 9):
            if m == 8 and e == hi:      # 8*2^8 only exists with a negative sign
                continue
            s = Scale.canonical(m, e)
            found[s.value] = s
    return tuple(found[v] for v in sorted(found))


@lru_cache(maxsize=1)
def _values() -> tuple[float, ...]:
    return tuple(s.value for s in magnitudes())


SCALE_MIN = magnitudes()[0].value      # 2^-7
SCALE_MAX = magnitudes()[-1].value     # 7*2^8


def lower_nearest(x: float) -> Scale:
    """The representable magnitude nearest to ``x > 0`` (clamped to the range; ties
    go to the smaller)."""
    scales = magnitudes()
    i = bisect.bisect_left(_values(), x)
    near = scales[max(i - 1, 0):i + 1]
    return min(near, key=lambda s: (abs(s.value - x), s.value))


def lower_ceil(x: float) -> Scale | None:
    """The smallest representable magnitude ``>= x``; None if ``x`` exceeds the range."""
    return next((s for s in magnitudes() if s.value >= x), None)


def decay_12bit(decay: float) -> int:
    """``d`` in 0..4095 with ``(4096 - d) / 4096`` nearest to ``decay``."""
    return int(min(max(round(DECAY_UNITY * (1.0 - decay)), 0), DECAY_UNITY - 1))


def decay_of_12bit(d: int) -> float:
    return (DECAY_UNITY - d) / DECAY_UNITY


def tau_of(decay: float, dt: float) -> float:
    """Time constant (ms) of a per-step decay; inf for 1, 0 for 0."""
    if decay >= 1.0:
        return math.inf
    if decay <= 0.0:
        return 0.0
    return -dt / math.log(decay)


@dataclass(frozen=True)
class Approximation:
    """A requested quantity, what Loihi realises, and the errors.

    ``tau_error`` is set for decays: the relative error of the time constant
    the realised decay implies (a decay near 1 can be close in value yet far
    in time constant).
    """

    quantity: str
    requested: float
    realised: float
    tau_error: float | None = None

    @property
    def relative_error(self) -> float:
        if self.requested == 0:
            return 0.0 if self.realised == 0 else math.inf
        return self.realised / self.requested - 1.0

    @property
    def judged_error(self) -> float:
        """What tolerances judge: the relative error; for a decay the smaller of its time
        constant's and its leak's (``1 - decay``) relative errors, which agree for slow
        decays and keep fast ones (both near 0) from looking infinitely wrong."""
        if self.tau_error is None:
            return abs(self.relative_error)
        leak, leak_real = 1.0 - self.requested, 1.0 - self.realised
        leak_err = abs(leak_real / leak - 1.0) if leak > 0 else abs(self.tau_error)
        return min(abs(self.tau_error), leak_err)

    def describe(self) -> str:
        text = (f"{self.quantity}: requested {self.requested:.6g}, realised "
                f"{self.realised:.6g} ({_percent(self.relative_error)})")
        if self.tau_error is not None:
            text += f", time constant {_percent(self.tau_error)}"
        return text

    def to_dict(self) -> dict:
        return {"quantity": self.quantity, "requested": self.requested,
                "realised": self.realised, "relative_error": self.relative_error,
                "tau_error": self.tau_error}


def _percent(x: float) -> str:
    return f"{100 * x:+.2f}%" if abs(x) < 100 else f"{100 * x:+.3g}%"


def decay_approximation(quantity: str, requested: float, realised: float,
                        dt: float) -> Approximation:
    """An :class:`Approximation` of a decay, with its time-constant error."""
    tau_req, tau_real = tau_of(requested, dt), tau_of(realised, dt)
    if tau_req == tau_real:
        tau_err = 0.0
    elif math.isinf(tau_real) or tau_req == 0:
        tau_err = math.inf
    else:
        tau_err = tau_real / tau_req - 1.0
    return Approximation(quantity, requested, realised, tau_err)
