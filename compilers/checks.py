"""Feasibility checks: refuse what Loihi 2 cannot hold, warn about near misses.

Every refusal is a :class:`~lava_eprop.errors.UserError` with one line of the
form ``<parameter> = <value>: <why> (allowed: <range>)``, where ``<range>``
bounds that same parameter, the others held (:func:`at_most`,
:func:`at_least`, :func:`between`, :func:`outside`, :func:`equal`) and
``<value>`` lies outside it: a value is printed exactly (6 significant digits
when that is exact) and a bound rounded to 4 digits towards the allowed side.
Every near miss is a :class:`FixedPointWarning` stating the representation
error. The compiler records every approximation it makes, warned about or not.
"""
from __future__ import annotations

import math
import warnings
from typing import NoReturn

from compilers.fixedpoint import Approximation
from lava_eprop.errors import UserError


class FixedPointWarning(UserWarning):
    """A quantity Loihi 2 holds only approximately (beyond the warning tolerance)."""


def fmt(value) -> str:
    """Compact, exact rendering of a value in a message (6 significant digits when they
    are exact, else all that are needed)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        short = f"{value:.6g}"
        return short if float(short) == value else repr(value)
    return repr(value) if isinstance(value, str) else str(value)


def _bound(x: float, up: bool) -> str:
    """``x`` to 4 significant digits, rounded up (``up``) or down: towards the allowed
    side of a lower or upper bound, so a refused value stays outside the printed range."""
    text = f"{x:.4g}"
    if math.isfinite(x) and x != 0 and (float(text) < x if up else float(text) > x):
        step = 10.0 ** (math.floor(math.log10(abs(x))) - 3)
        text = f"{float(text) + (step if up else -step):.4g}"
    return text


def at_most(param: str, limit: float, strict: bool = False) -> str:
    """``param <= limit`` (``<`` if ``strict``)."""
    return f"{param} {'<' if strict else '<='} {_bound(limit, up=False)}"


def at_least(param: str, limit: float, strict: bool = False) -> str:
    """``param >= limit`` (``>`` if ``strict``)."""
    return f"{param} {'>' if strict else '>='} {_bound(limit, up=True)}"


def between(param: str, low: float, high: float, low_strict: bool = False,
            high_strict: bool = False) -> str:
    """``low <= param <= high`` (strict where told)."""
    return (f"{_bound(low, up=True)} {'<' if low_strict else '<='} {param} "
            f"{'<' if high_strict else '<='} {_bound(high, up=False)}")


def outside(param: str, low: float, high: float) -> str:
    """``param <= low or param >= high``: the refused value lies in the gap between."""
    return f"{at_most(param, low)} or {at_least(param, high)}"


def equal(param: str, value) -> str:
    """``param = value``: the one allowed choice."""
    return f"{param} = {fmt(value)}"


class Checker:
    """Collects approximations and notes; judges errors against the tolerances.

    Parameters
    ----------
    tolerance : float
        Largest relative error of a time constant (or of ALIF's beta) accepted.
    warn_tolerance : float
        Errors above this produce a :class:`FixedPointWarning`.
    """

    def __init__(self, tolerance: float, warn_tolerance: float):
        self.tolerance = tolerance
        self.warn_tolerance = warn_tolerance
        self.approximations: list[Approximation] = []
        self.notes: list[str] = []

    @staticmethod
    def refuse(param: str, value, why: str, allowed: str) -> NoReturn:
        raise UserError(f"{param} = {fmt(value)}: {why} (allowed: {allowed})")

    def warn(self, text: str) -> None:
        warnings.warn(text, FixedPointWarning, stacklevel=3)

    def refused(self, approx: Approximation, refusable: bool = True) -> bool:
        """Whether :meth:`record` refuses ``approx``: beyond the tolerance (if
        ``refusable``), an infinite error, or a leak realised as none."""
        err = approx.judged_error
        no_leak = approx.tau_error is not None and approx.realised >= 1.0 > approx.requested
        return no_leak or not math.isfinite(err) or (refusable and err > self.tolerance)

    def record(self, approx: Approximation, param: str, value, allowed: str | None,
               refusable: bool = True) -> Approximation:
        """Keep ``approx``; refuse it as :meth:`refused` says, warn above the warning
        tolerance. ``param``/``value``/``allowed`` name the config key to change and its
        range; ``allowed`` None: no value of ``param`` alone helps, and the refusal names
        ``fixed_point.tolerance`` with the error this approximation needs."""
        err = approx.judged_error
        if self.refused(approx, refusable):
            why = (f"{approx.describe()} exceeds the tolerance {self.tolerance:g} "
                   "(fixed_point.tolerance)")
            if allowed is None:
                self.refuse("fixed_point.tolerance", self.tolerance, f"{param} = {fmt(value)}: "
                            + why, at_least("fixed_point.tolerance", err))
            self.refuse(param, value, why, allowed)
        if err > self.warn_tolerance:
            self.warn(approx.describe())
        self.approximations.append(approx)
        return approx
