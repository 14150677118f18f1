"""Feasibility checks: refuse what Loihi 2 cannot hold, warn about near misses.

Every refusal is a :class:`~lava_eprop.errors.UserError` with one line of the
form ``<parameter> = <value>: <why> (allowed: <range>)``; every near miss is a
:class:`FixedPointWarning` stating the representation error. The compiler
records every approximation it makes, warned about or not.
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
    """Compact, unambiguous rendering of a value in a message."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value) if isinstance(value, str) else str(value)


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

    def record(self, approx: Approximation, param: str, value, allowed: str,
               refusable: bool = True) -> Approximation:
        """Keep ``approx``; refuse it beyond the tolerance (if ``refusable``) or when an
        error is infinite (e.g. a leak realised as none), warn above the warning
        tolerance. ``param``/``value``/``allowed`` name the config key to change."""
        err = approx.judged_error
        finite = all(math.isfinite(x) for x in (err, approx.relative_error,
                                                 approx.tau_error or 0.0))
        if not finite or (refusable and err > self.tolerance):
            self.refuse(param, value, f"{approx.describe()} exceeds the tolerance "
                        f"{self.tolerance:g} (fixed_point.tolerance)", allowed)
        if err > self.warn_tolerance:
            self.warn(approx.describe())
        self.approximations.append(approx)
        return approx
