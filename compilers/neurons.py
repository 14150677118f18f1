"""Neuron-side lowering: voltage scales, thresholds, decays, weight formats, y2 and y3.

Equations (float quantities of :mod:`lava_eprop.reference`, ``Q = 2^q``):

* Voltage scale: ``q = floor(log2(2^13 / v_th))``, so the 17-bit threshold
  ``vth = round(v_th * Q)`` lies in (4096, 8192] and the 24-bit register
  (``v * Q * 64``) spans +-16 thresholds or more; ``q`` is lowered when the
  largest weights would not fit 8 bits at exponent 7 (down to ``vth >= 64``).
  The readout uses ``error_max`` in place of ``v_th``.
* Decays: ``dv = round(4096 (1 - alpha))`` (12 bits), ``du = 4095``.
* Weights of a projection with input scale ``s`` (``s_in`` or ``s_out``):
  integer ``w = round(s * W * Q / 2^e)``; the exponent ``e`` in [-8, 7] is the
  smallest that keeps ``weight_range`` initial standard deviations within
  255 (8 bits + sign), unless the config fixes it.
* ``y2``: ``y2 = floor(y2_mant * max(0, vth_eff - |v - A|) / 2^y2_shift)``
  with ``y2_mant`` in 128..255, so ``y2 <= 127 / 2^j`` (``j`` trades y2
  resolution for rule precision) and ``y2 = y2_per_psi * psi``.
* ``y3 = 64 + round(Lambda * L)``, ``Lambda = 2^floor(log2(63 / L_max))``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from compilers.checks import Checker, at_least, at_most, between
from compilers.fixedpoint import (
    SYN_VAR_MAX,
    TRACE_MAX,
    WEIGHT_EXP_RANGE,
    Y3_OFFSET,
    decay_12bit,
    decay_approximation,
    decay_of_12bit,
)

VTH_TARGET = 2 ** 13
VTH_MIN = 2 ** 6
Q_EXP_MAX = 900                 # |log2 Q| beyond this leaves the float range
SIGNAL_RANGE = (2.0 ** -900, 2.0 ** 900)
V_SHIFT = 6                     # Lava's LIF: threshold and input are << 6
DU_INSTANT = 4095               # Lava adds 1: the current decays fully, input goes to v


@dataclass(frozen=True)
class Voltage:
    """Voltage scale and threshold of a group."""

    scale: float                # Q
    vth: int                    # 17-bit threshold mantissa
    v_th: float                 # realised float threshold vth / Q

    @property
    def vth_eff(self) -> int:
        return self.vth << V_SHIFT


@dataclass(frozen=True)
class WeightSpec:
    """The float weights of one projection as the config describes them.

    ``scale`` is the config's ``w_*_scale`` (sized as 1 when it is 0), ``std``
    the initial standard deviation ``scale / sqrt(fan_in)``, ``s`` the input scale
    (``s_in``/``s_out``), ``exp_key`` the exponent's key, ``fixed`` the configured
    exponent or None.
    """

    what: str
    scale_key: str
    scale: float
    std: float
    s: float
    exp_key: str
    fixed: int | None
    weight_range: float
    fan_in: int

    @property
    def big(self) -> float:
        """Largest float weight represented: ``weight_range`` standard deviations."""
        return self.weight_range * self.std

    @property
    def units(self) -> float:
        """Its integer size at ``Q = 1`` and exponent 0."""
        return self.s * self.big


def voltage(check: Checker, unit: float, specs: list[WeightSpec], param: str) -> Voltage:
    """``Q = 2^q`` and the threshold ``round(unit * Q)``.

    ``q = floor(log2(2^13 / unit))``, lowered if needed so that weights whose
    exponent is chosen automatically fit 255 at exponent 7; refused when that
    leaves the threshold fewer than 64 integer levels, or when ``unit``
    (``param``) is so far from 1 that ``Q`` leaves the float range.
    """
    q = math.floor(math.log2(VTH_TARGET) - math.log2(unit))
    if abs(q) > Q_EXP_MAX:     # |q| <= 900 <=> 2^(13-901) < unit <= 2^(13+900)
        check.refuse(param, unit, f"the voltage scale 2^{q} is outside the float range",
                     between(param, VTH_TARGET * 2.0 ** -(Q_EXP_MAX + 1),
                             VTH_TARGET * 2.0 ** Q_EXP_MAX, low_strict=True))
    w_max = SYN_VAR_MAX * 2 ** WEIGHT_EXP_RANGE[1]
    auto = [sp for sp in specs if sp.fixed is None and sp.units > 0]
    if auto:
        top = max(auto, key=lambda sp: sp.units)
        q = min(q, math.floor(math.log2(w_max) - math.log2(top.units)))
        if unit * 2.0 ** q < VTH_MIN:
            # unit 2^q >= 64 <=> q >= m <=> units <= w_max / 2^m; units proportional to scale
            m = math.ceil(math.log2(VTH_MIN / unit))
            check.refuse(top.scale_key, top.scale, f"{top.what} weights up to {top.big:.4g} "
                         f"are {top.units / unit:.3g} times {unit:g}; 8-bit weights with "
                         f"exponent <= 7 then leave fewer than {VTH_MIN} threshold levels",
                         at_most(top.scale_key, w_max / 2.0 ** m * top.scale / top.units))
    scale = 2.0 ** q
    vth = round(unit * scale)
    return Voltage(scale, vth, vth / scale)


def membrane_decay(check: Checker, name: str, decay: float, dt: float, param: str,
                   value: float) -> int:
    """12-bit ``d`` of a decay, recorded as an approximation of its time constant
    (refused: ``param`` above :func:`longest_tau` with the leak in steps of 1/4096)."""
    d = decay_12bit(decay)
    approx = decay_approximation(name, decay, decay_of_12bit(d), dt)
    check.record(approx, param, value, longest_tau(check, param, approx, 4096, dt))
    return d


def longest_tau(check: Checker, param: str, approx, levels: float, dt: float) -> str | None:
    """``param <= tau`` for a decay whose leak ``1 - decay`` is rounded to steps of
    ``1 / levels``: that errs by at most ``0.5 / (levels (1 - decay))``, within the
    tolerance up to the returned ``tau`` (so a refused one is above it). None when no
    leak in (0, 1] has that many steps (the tolerance is too tight), unless the leak
    rounded to none (which needs ``levels (1 - decay) > 0.5``)."""
    need = 1.0 / (2.0 * check.tolerance)
    if need >= levels:
        if approx.realised < 1.0:
            return None
        need = 0.5
    return at_most(param, -dt / math.log1p(-need / levels))


@dataclass(frozen=True)
class Psi:
    """Pseudo-derivative scaling into y2."""

    mant: int
    shift: int
    per_psi: float


def psi_format(v: Voltage, gamma: float, j: int) -> Psi:
    """``y2_mant / 2^y2_shift ~ (127 / 2^j) / vth_eff`` with ``y2_mant`` in 128..255."""
    ratio = TRACE_MAX / 2 ** j / v.vth_eff
    shift = math.floor(math.log2(255 / ratio))
    mant = math.floor(ratio * 2 ** shift)
    return Psi(mant, shift, mant * v.vth_eff / 2 ** shift * v.v_th / gamma)


def signal_scale(signal_max: float) -> float | None:
    """``Lambda``: the largest power of two with ``Lambda * signal_max <= 63``; None
    outside :data:`SIGNAL_RANGE` (Lambda would leave the float range)."""
    if not SIGNAL_RANGE[0] <= signal_max <= SIGNAL_RANGE[1]:
        return None
    return 2.0 ** math.floor(math.log2(TRACE_MAX - Y3_OFFSET) - math.log2(signal_max))


@dataclass(frozen=True)
class WeightFormat:
    """Integer weight per unit float weight, exponent and largest weight held."""

    exp: int
    per_unit: float
    w_max: float


def weight_format(check: Checker, sp: WeightSpec, v: Voltage) -> WeightFormat:
    """Choose (or check) the weight exponent of a projection.

    Weights up to ``sp.big`` must fit 8 bits + sign after scaling by
    ``s * Q / 2^exp``: the automatic exponent is the smallest in [-8, 7] that
    does; a configured one is refused if they overflow. Either is refused if
    the weights get fewer than 2 integer levels.
    """
    units = sp.units * v.scale           # integer size of sp.big at exponent 0
    lo, hi = WEIGHT_EXP_RANGE
    need = math.ceil(math.log2(units / SYN_VAR_MAX)) if units > 0 else lo
    if sp.fixed is not None:
        param, value = sp.exp_key, sp.fixed
        if sp.fixed < need:
            check.refuse(param, sp.fixed, f"{sp.what} weights up to {sp.big:.4g} become "
                         f"{units / 2 ** sp.fixed:.0f} > {SYN_VAR_MAX} (8 bits + sign)",
                         at_least(param, need))
        exp = sp.fixed
    else:
        param, value = sp.scale_key, sp.scale
        exp = min(max(need, lo), hi)
    top = units / 2 ** exp
    if top < 2:     # units / 2^exp >= 2, units = s * weight_range * scale / sqrt(fan_in) * Q
        exp_ok = math.floor(math.log2(units / 2)) if units > 0 else lo - 1
        if sp.fixed is not None and exp_ok >= lo:
            allowed = at_most(param, exp_ok)
        else:
            param, value = sp.scale_key, sp.scale
            allowed = at_least(param, 2.0 ** (exp + 1) * math.sqrt(sp.fan_in)
                               / (sp.s * sp.weight_range * v.scale))
        check.refuse(param, value, f"{sp.what} weights up to {sp.big:.4g} are {top:.3g} "
                     f"integer levels at weight exponent {exp}: below Loihi's weight "
                     "resolution", allowed)
    if top < 32:
        check.warn(f"{sp.what} weights up to {sp.big:.4g} use only {top:.0f} of 255 integer "
                   f"levels at weight exponent {exp}")
    per_unit = sp.s * v.scale / 2 ** exp
    return WeightFormat(exp, per_unit, SYN_VAR_MAX / per_unit)
