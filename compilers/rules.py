"""e-prop learning rules as readable sum-of-products strings, checked and lowered.

A rule is written once, Brian2-style, with named coefficients::

    dt = c_t * u0 * x1 * y2 - c_k * u0 * t

and lowered by substituting each coefficient's Lava scale literal::

    dt = 1*2^-7 * u0 * x1 * y2 - 3*2^-6 * u0 * t

which is the syntax of Lava's ``Loihi3FLearningRule``. The grammar accepted
here is the subset e-prop needs, and it is what :func:`parse` checks in an
exported (possibly hand-edited) file: a sum of products, each
``[sign] scale * u0 * factor * ...`` with one ``u0`` dependency (updates
every epoch), factors ``x1 x2 y1 y2 y3 t d w`` or ``(y3-64)``-style offsets.

Lava applies a product as ``floor(m * prod(factors) / 2^S) * 2^e`` with
``S = max(0, sum(widths) + 4 - 15)`` (see :mod:`compilers.fixedpoint`), so a
product's real coefficient is ``m * 2^e / 2^S`` (:class:`Product` carries
both); the floor loses less than ``2^e`` per shifted product. All of ``dw``,
``dt``, ``dd`` of one epoch read the synaptic variables' values *before* that
epoch's update (Lava's ``_apply_learning_rules`` passes the old arrays to
every rule).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from compilers.fixedpoint import EXPONENT_RANGE, Scale
from lava_eprop.errors import UserError
from lava_eprop.loihi import constants as lc

FACTOR_WIDTH = {"x1": lc.W_TRACE, "x2": lc.W_TRACE, "y1": lc.W_TRACE, "y2": lc.W_TRACE,
                "y3": lc.W_TRACE, "w": lc.W_WEIGHTS_S, "t": lc.W_TAG_1_S, "d": lc.W_TAG_2_S}
DEPENDENCY = "u0"
TARGETS = ("dw", "dt", "dd")

#: The e-prop rules (docs/architecture.md#the-loihi-2-mapping). ``c_*`` are the
#: coefficients the compiler lowers; every one is a magnitude, signs are written out.
TEMPLATES = {
    "lif": {"dw": "- c_w * u0 * t * (y3-64)",
            "dt": "c_t * u0 * x1 * y2 - c_k * u0 * t"},
    "alif": {"dw": "- c_w * u0 * t * (y3-64)",
             "dt": "c_t * u0 * x1 * y2 - c_b * u0 * y2 * d - c_k * u0 * t",
             "dd": "c_d * u0 * x1 * y2 - c_q * u0 * y1 * d"},
    "readout": {"dw": "- c_o * u0 * x1 * (y3-64)"},
}

_SCALE = r"\d+\*2\^[+-]?\d+"
_FACTOR = r"(?:x1|x2|y1|y2|y3|t|d|w|\((?:x1|x2|y1|y2|y3)[+-]\d+\))"
_TERM = re.compile(rf"(?P<coef>{_SCALE}|c_[a-z0-9]+)\*(?P<dep>u\d+|x0|y0)"
                   rf"(?P<factors>(?:\*{_FACTOR})*)")


@dataclass(frozen=True)
class Product:
    """One product of a rule: ``sign * scale * u0 * factors``.

    ``factors`` are ``(name, offset)`` pairs (``("y3", -64)`` is ``(y3-64)``);
    ``scale`` is None in an unlowered template, where ``name`` is its
    coefficient's name.
    """

    target: str
    sign: int
    name: str | None
    scale: Scale | None
    factors: tuple[tuple[str, int], ...]

    @property
    def width_sum(self) -> int:
        return sum(FACTOR_WIDTH[f] for f, _ in self.factors)

    @property
    def shift(self) -> int:
        """Lava's right shift ``S`` of this product."""
        return max(0, self.width_sum + lc.W_S_MANT - lc.W_ACCUMULATOR_U)

    @property
    def coefficient(self) -> float:
        """Real change of the target per unit product of the factors."""
        return self.sign * self.scale.value / 2 ** self.shift

    def text(self, first: bool) -> str:
        sign = ("-" if self.sign < 0 else "") if first else (" - " if self.sign < 0 else " + ")
        coef = self.scale.literal() if self.scale is not None else self.name
        factors = "".join(f" * {_factor_text(f, o)}" for f, o in self.factors)
        return f"{sign}{coef} * {DEPENDENCY}{factors}"

    def to_dict(self) -> dict:
        """Signed mantissa and exponent (Lava's ``m * 2^e``), factors, widths, shift and
        the real coefficient ``m * 2^e / 2^shift``."""
        return {"mantissa": self.sign * self.scale.mantissa, "exponent": self.scale.exponent,
                "factors": [_factor_text(f, o) for f, o in self.factors],
                "width_sum": self.width_sum, "shift": self.shift,
                "coefficient": self.coefficient}


def _factor_text(name: str, offset: int) -> str:
    return name if offset == 0 else f"({name}{offset:+d})"


def parse(target: str, text: str, where: str) -> tuple[Product, ...]:
    """Check a rule (template or lowered) and split it into products.

    Raises :class:`UserError` naming ``where`` on anything outside the grammar.
    """
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{where}: a rule must be a non-empty string, got {text!r}")
    body = re.sub(r"\s+", "", text)
    products = []
    for sign, term in _split_terms(body, where):
        match = _TERM.fullmatch(term)
        if match is None:
            raise UserError(f"{where}: cannot read the product '{term}' (allowed: "
                            f"[+|-] m*2^e * {DEPENDENCY} * factor * ..., factors x1 x2 y1 y2 "
                            "y3 t d w or (y3-64)-style offsets)")
        if match["dep"] != DEPENDENCY:
            raise UserError(f"{where}: product '{term}' depends on {match['dep']} (allowed: "
                            f"{DEPENDENCY}: e-prop updates every epoch)")
        coef = match["coef"]
        name, scale = (coef, None) if coef.startswith("c_") else (None, _scale(coef, where))
        factors = tuple(_factor(f) for f in re.findall(_FACTOR, match["factors"]))
        products.append(Product(target, sign, name, scale, factors))
    return tuple(products)


def _split_terms(body: str, where: str) -> list[tuple[int, str]]:
    """Split at top-level ``+``/``-`` that are not an exponent's sign."""
    terms, depth, start, sign = [], 0, 0, 1
    if body[:1] in "+-":
        sign, start = (-1 if body[0] == "-" else 1), 1
    for i in range(start, len(body)):
        ch = body[i]
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            raise UserError(f"{where}: unbalanced ')' in rule '{body}'")
        if depth == 0 and ch in "+-" and body[i - 1] != "^":
            terms.append((sign, body[start:i]))
            sign, start = (-1 if ch == "-" else 1), i + 1
    if depth != 0:
        raise UserError(f"{where}: unbalanced '(' in rule '{body}'")
    terms.append((sign, body[start:]))
    return terms


def _scale(literal: str, where: str) -> Scale:
    m_text, e_text = literal.split("*2^")
    m, e = int(m_text), int(e_text)
    if not 1 <= m <= 8 or not EXPONENT_RANGE[0] <= e <= EXPONENT_RANGE[1] or (
            m == 8 and e == EXPONENT_RANGE[1]):
        raise UserError(f"{where}: scale {literal} is not representable (allowed: "
                        f"mantissa 1..8, exponent {EXPONENT_RANGE[0]}..{EXPONENT_RANGE[1]})")
    return Scale.canonical(m, e)


def _factor(text: str) -> tuple[str, int]:
    if text.startswith("("):
        name, offset = re.fullmatch(r"\(([a-z0-9]+)([+-]\d+)\)", text).groups()
        return name, int(offset)
    return text, 0


def lower(target: str, template: str, scales: dict[str, Scale]) -> tuple[Product, ...]:
    """Substitute every coefficient of ``template`` by its scale."""
    return tuple(Product(p.target, p.sign, p.name, scales[p.name], p.factors)
                 for p in parse(target, template, f"template {target}"))


def rule_text(products: tuple[Product, ...]) -> str:
    """The Lava string of a lowered rule."""
    return "".join(p.text(i == 0) for i, p in enumerate(products))
