"""The fast engine's learning rule: what Lava's ``Loihi*LearningRule`` holds.

:class:`LearningRule` carries the rule strings, trace impulses and decay
constants, the epoch length, the seed and the kind (``3F``, ``2F`` or
``plain``: Lava's ``Loihi3FLearningRule``, ``Loihi2FLearningRule`` or their
base ``LoihiLearningRule``), validated and parsed as Lava validates and
parses them (``lava/magma/core/learning/learning_rule.py``), without Lava.
:func:`as_learning_rule` reads one from a Lava rule object;
:meth:`LearningRule.to_lava` builds the Lava object (Lava must be installed).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

import numpy as np

from lava_eprop.loihi import symbols as sym
from lava_eprop.loihi.grammar import ProductSeries, parse_rule

KINDS = ("3F", "2F", "plain")
#: Lava's class of each kind.
LAVA_CLASSES = {"3F": "Loihi3FLearningRule", "2F": "Loihi2FLearningRule",
                "plain": "LoihiLearningRule"}
#: What ``Loihi3FLearningRule`` sets for the y traces: the third factor is
#: received, never decayed by an impulse.
THIRD_FACTOR_TAU = int(np.iinfo(np.uint16).max)
_TRACES = ("x1", "x2", "y1", "y2", "y3")


@dataclass(frozen=True)
class LearningRule:
    """A Loihi learning rule (attributes as Lava's, ``dw``/``dd``/``dt`` the strings).

    Raises ValueError (or :class:`~lava_eprop.loihi.grammar.RuleSyntaxError`)
    where Lava raises: no rule, a negative impulse or tau, ``t_epoch < 1``,
    ``uk`` terms with different ``k``, a string outside the grammar.
    ``rng_seed`` None draws one as Lava does (``np.random.randint``).
    """

    kind: str = "plain"
    dw: str | None = None
    dd: str | None = None
    dt: str | None = None
    x1_impulse: float = 0.0
    x1_tau: float = 0.0
    x2_impulse: float = 0.0
    x2_tau: float = 0.0
    y1_impulse: float = 0.0
    y1_tau: float = 0.0
    y2_impulse: float = 0.0
    y2_tau: float = 0.0
    y3_impulse: float = 0.0
    y3_tau: float = 0.0
    t_epoch: int = 1
    rng_seed: int | None = None
    active_product_series: dict = field(init=False, repr=False, compare=False)
    decimate_exponent: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        strings = {target: text for target, text in
                   ((sym.DW, self.dw), (sym.DD, self.dd), (sym.DT, self.dt)) if text is not None}
        if not strings:
            raise ValueError("no learning rule was specified: give dw, dd or dt")
        uk = [m for text in strings.values() for m in re.findall("u[0-9]+", text)]
        if len(set(uk)) > 1:
            raise ValueError("learning rules (dw, dd, dt) cannot contain uk terms "
                             "with different decimation factors k")
        for name in _TRACES:
            if getattr(self, f"{name}_impulse") < 0:
                raise ValueError(f"{name}_impulse cannot be negative")
            if getattr(self, f"{name}_tau") < 0:
                raise ValueError(f"{name}_tau cannot be negative")
        if self.t_epoch <= 0:
            raise ValueError("t_epoch must be positive")
        if self.rng_seed is None:
            object.__setattr__(self, "rng_seed", np.random.randint(1, np.iinfo(np.int32).max))
        object.__setattr__(self, "decimate_exponent", int(uk[0][1]) if uk else None)
        object.__setattr__(self, "active_product_series", {
            target: parse_rule(target, text) for target, text in strings.items()})

    @classmethod
    def three_factor(cls, *, dw=None, dd=None, dt=None, x1_impulse=0.0, x1_tau=0.0,
                     x2_impulse=0.0, x2_tau=0.0, t_epoch=1, rng_seed=None) -> LearningRule:
        """Lava's ``Loihi3FLearningRule``: y traces with impulse 0 and tau 65535."""
        received = {f"{y}_{p}": v for y in ("y1", "y2", "y3")
                    for p, v in (("impulse", 0), ("tau", THIRD_FACTOR_TAU))}
        return cls(kind="3F", dw=dw, dd=dd, dt=dt, x1_impulse=x1_impulse, x1_tau=x1_tau,
                   x2_impulse=x2_impulse, x2_tau=x2_tau, t_epoch=t_epoch, rng_seed=rng_seed,
                   **received)

    def product_series(self, target: str) -> ProductSeries | None:
        """The parsed rule of ``target`` (``dw``, ``dd``, ``dt``), None if absent."""
        return self.active_product_series.get(target)

    def to_lava(self):
        """The equivalent Lava rule object (needs lava-nc; see
        :func:`lava_eprop.lava_runtime.require_lava`)."""
        from lava_eprop.lava_runtime import require_lava
        require_lava("loading rules into Lava's Loihi3FLearningRule")
        from lava.magma.core.learning import learning_rule as lava_rules
        strings = {"dw": self.dw, "dd": self.dd, "dt": self.dt}
        cls = getattr(lava_rules, LAVA_CLASSES[self.kind])
        traces = ("x1", "x2") if self.kind == "3F" else _TRACES
        params = {f"{n}_{p}": getattr(self, f"{n}_{p}") for n in traces for p in ("impulse", "tau")}
        return cls(**strings, **params, t_epoch=self.t_epoch, rng_seed=self.rng_seed)


def as_learning_rule(rule) -> LearningRule:
    """``rule`` as a :class:`LearningRule`: itself, or read from a Lava
    ``LoihiLearningRule`` object (its class decides the kind)."""
    if isinstance(rule, LearningRule):
        return rule
    bases = {cls.__name__ for cls in type(rule).__mro__}
    if "LoihiLearningRule" not in bases:
        raise TypeError(f"not a learning rule: {rule!r}")
    kind = next(k for k in KINDS if LAVA_CLASSES[k] in bases)
    names = [f.name for f in fields(LearningRule) if f.init and f.name != "kind"]
    values = {n: getattr(rule, f"{n}_str" if n in ("dw", "dd", "dt") else n) for n in names}
    return LearningRule(kind=kind, **values)
