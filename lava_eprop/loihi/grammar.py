"""The sum-of-products grammar of Loihi learning rules, parsed as Lava parses it.

A rule string such as ``"-3*2^-6 * u0 * t * (y3-64)"`` becomes a
:class:`ProductSeries`: products with a dependency (``x0``, ``y0`` or ``u``),
a scale ``s_mantissa * 2^(s_exp - 7)`` and factors (a trace, a synaptic
variable or ``x0``/``y0``, each with an optional additive constant, or
``sgn(w|d|t + C)``). :func:`parse_rule` follows the two steps of Lava 0.10.0
(``SymbolicEquation`` in ``lava/magma/core/learning/symbolic_equation.py``
and ``ProductSeries`` in ``product_series.py``) token for token, so it yields
the products Lava's model reads, including Lava's quirks:

* spaces are removed (other white space is not); tokens are matched in the
  order ``+ - * x0 y0 u<digit> x1|x2 y1|y2|y3 w d t ( sgn( literal``;
* a product is split off at every ``+`` or ``-`` that follows a token of the
  current product (so ``x1*-2`` starts a new product at ``-``);
* every literal of a product multiplies its scale (``m*2^e``, ``2^e`` or an
  integer ``m``), also inside brackets such as ``(2^3)``; mantissas
  ``|m| > 7`` that are even are halved into the exponent while ``e < 8``;
  the scale must end with ``-8 <= m < 8`` and ``-7 <= e < 9``;
* the first dependency (``x0``, ``y0`` or ``uk``) of a product is its
  dependency; a later ``x0``/``y0`` is a factor; ``(v+C)``, ``(C+v)``,
  ``(-v+C)`` (which negates the scale and C) give a factor with constant C;
* every ``uk`` of a rule must have the same ``k``.

Strings outside the grammar raise :class:`RuleSyntaxError` (Lava raises a
``ValueError`` or fails with another exception on some of them).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from lava_eprop.loihi import symbols as sym


class RuleSyntaxError(ValueError):
    """A rule string outside the grammar."""


@dataclass(frozen=True)
class Factor:
    """One factor: ``state_var + const`` (``const`` None: no constant), or its
    sign ``sgn(state_var + const)`` when ``is_sgn``."""

    state_var: str
    const: int | float | None = None
    is_sgn: bool = False

    def __post_init__(self) -> None:
        if self.state_var not in sym.FACTOR_STATE_VARS:
            raise RuleSyntaxError(f"unknown variable {self.state_var!r} in a factor")
        if self.is_sgn and self.state_var not in sym.SYNAPTIC_VARIABLES:
            raise RuleSyntaxError(f"sgn(..) of {self.state_var!r}: only w, d or t")

    def has_const(self) -> bool:
        return self.const is not None


@dataclass(frozen=True)
class Product:
    """``s_mantissa * 2^(s_exp - 7) * dependency * factors`` (``s_exp`` is
    stored plus 7, as Lava stores it)."""

    target: str
    dependency: str
    s_mantissa: int
    s_exp: int
    factors: tuple[Factor, ...]
    decimate_exponent: int | None = None


@dataclass(frozen=True)
class ProductSeries:
    """The products of one rule (``target`` is ``dw``, ``dd`` or ``dt``)."""

    target: str
    products: tuple[Product, ...]
    decimate_exponent: int | None


# ----------------------------------------------------------------- tokens
@dataclass(frozen=True)
class _Token:
    kind: str              # + - * x0 y0 u var ( sgn lit
    text: str = ""
    value: tuple = ()      # u: (k,); lit: (mantissa, base, exponent); ( sgn: sub-tokens


_SIMPLE = (("+", r"\+"), ("-", r"\-"), ("*", r"\*"), (sym.X0, sym.X0), (sym.Y0, sym.Y0))
_VARIABLES = ("x[12]", "y[123]", sym.W, sym.D, sym.T)
_LITERALS = (r"[\+\-]?\d+\*2\^[\+\-]?\d+", r"[\+\-]?2\^[\+\-]?\d+", r"[\+\-]?\d+")


def _literal(text: str, kind: int) -> tuple:
    """(mantissa, base, exponent) of a literal, as Lava's ``Literal.to_int``."""
    if kind == 0:
        mantissa, exponent = text.split("^")
        return ast.literal_eval(mantissa[:-2]), 2, ast.literal_eval(exponent)
    if kind == 1:
        two, exponent = text.split("^")
        return int(ast.literal_eval(two) / 2), 2, ast.literal_eval(exponent)
    return ast.literal_eval(text), 1, 0


def _closing_bracket(text: str) -> int:
    """Index of the bracket closing ``text``'s first ``(``."""
    depth = 0
    for match in re.finditer("[()]", text):
        depth += 1 if match.group() == "(" else -1
        if depth == 0:
            return match.start()
    raise RuleSyntaxError("bracket expression missing closing bracket")


def _next_token(text: str) -> tuple[_Token, str]:
    for kind, pattern in _SIMPLE:
        if (m := re.match(pattern, text)):
            return _Token(kind, m.group()), text[m.end():]
    if (m := re.match(r"u\d", text)):
        return _Token(sym.U, m.group(), (int(m.group()[1:]),)), text[m.end():]
    for pattern in _VARIABLES:
        if (m := re.match(pattern, text)):
            return _Token("var", m.group()), text[m.end():]
    for opening, kind in (("(", "("), ("sgn(", "sgn")):
        if text.startswith(opening):
            close = _closing_bracket(text)
            inner = text[len(opening):close]
            return _Token(kind, text[:close + 1], tuple(_tokens(inner))), text[close + 1:]
    for literal_kind, pattern in enumerate(_LITERALS):
        if (m := re.match(pattern, text)):
            return _Token("lit", m.group(), _literal(m.group(), literal_kind)), text[m.end():]
    raise RuleSyntaxError(f"cannot read {text!r}")


def _tokens(text: str) -> list[_Token]:
    """Lava's ``SymbolicEquation._parse``: tokens until the text is used up."""
    tokens = []
    while True:
        token, text = _next_token(text)
        tokens.append(token)
        if not text:
            return tokens


# --------------------------------------------------------------- products
def _split_products(tokens: list[_Token]) -> list[list[_Token]]:
    products, current = [], []
    for token in tokens:
        if token.kind == "*":
            continue
        if token.kind in ("+", "-") and current:
            products.append(current)
            current = [token]
        else:
            current.append(token)
    products.append(current)
    return products


def _is_dependency_or_variable(token: _Token) -> bool:
    return token.kind in (sym.X0, sym.Y0, sym.U, "var")


class _ProductBuilder:
    """Lava's ``ProductSeries._generate_product`` for one product's tokens."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.decimate_exponent = None   # of the whole series

    def build(self, tokens: list[_Token]) -> Product:
        dependency = decimate = None
        mantissa, exponent, factors = 1, 0, []
        for token in tokens:
            if token.kind == "+":
                continue
            if token.kind == "-":
                mantissa = -mantissa
            elif token.kind == sym.U:
                decimate = token.value[0]
                if self.decimate_exponent is not None and self.decimate_exponent != decimate:
                    raise RuleSyntaxError("a rule's uk terms must all have the same k")
                self.decimate_exponent = decimate
                dependency = dependency or sym.U
            elif token.kind in (sym.X0, sym.Y0):
                if dependency is None:
                    dependency = token.kind
                else:
                    factors.append(Factor(token.text))
            elif token.kind == "lit":
                mantissa *= token.value[0]
                exponent += token.value[2]
            elif token.kind == "var":
                factors.append(Factor(token.text))
            else:
                mantissa, exponent = self._expression(token, mantissa, exponent, factors)
        while abs(mantissa) > 7 and mantissa % 2 == 0 and exponent < 8:
            mantissa, exponent = int(mantissa / 2), exponent + 1
        if dependency is None:
            raise RuleSyntaxError("a product needs a dependency (x0, y0 or uk)")
        if not -8 <= mantissa < 8:
            raise RuleSyntaxError(f"scale mantissa {mantissa} is not in [-8, 7]")
        if not -7 <= exponent < 9:
            raise RuleSyntaxError(f"scale exponent {exponent} is not in [-7, 8]")
        if (decimate is not None) != (dependency == sym.U):
            raise RuleSyntaxError("a product with a uk term must depend on u, "
                                  "and a product depending on u needs its k")
        return Product(self.target, dependency, mantissa, exponent + 7, tuple(factors),
                       decimate)

    @staticmethod
    def _expression(token: _Token, mantissa: int, exponent: int, factors: list):
        """A bracket or sgn expression: ``[+-]v``, ``[+-]literal``, or
        ``[+-]v [+-] C`` / ``[+-]C [+-] v``."""
        inner = list(token.value)
        if inner[0].kind not in ("+", "-", "*"):
            inner.insert(0, _Token("+"))
        var = const = None
        var_sign = None
        if len(inner) <= 2:
            operator, operand = inner[0], inner[1] if len(inner) > 1 else None
            if operand is None:
                raise RuleSyntaxError(f"empty expression {token.text!r}")
            if operand.kind == "var":
                var = operand.text
            elif operand.kind == "lit":
                mantissa *= operand.value[0] * (-1 if operator.kind == "-" else 1)
                exponent += operand.value[2]
        else:
            if len(inner) < 4:
                raise RuleSyntaxError(f"cannot read {token.text!r} as [+,-]var[+,-]const")
            if _is_dependency_or_variable(inner[1]) and inner[3].kind == "lit":
                var_sign, var_token, const_sign, const_token = inner[:4]
            elif _is_dependency_or_variable(inner[3]) and inner[1].kind == "lit":
                const_sign, const_token, var_sign, var_token = inner[:4]
            else:
                raise RuleSyntaxError(f"cannot read {token.text!r} as [+,-]var[+,-]const")
            var = var_token.text
            m, base, e = const_token.value
            const = m * base ** e * (-1 if const_sign.kind == "-" else 1)
            if var_sign.kind == "-":
                mantissa, const = -mantissa, -const
        if token.kind == "(":
            if var is not None:
                factors.append(Factor(var, const))
        else:
            if var not in (sym.W, sym.D, sym.T):
                raise RuleSyntaxError("sgn(..) applies to w, d or t only")
            if var_sign is not None and var_sign.kind == "-":
                raise RuleSyntaxError("the variable in sgn(..) cannot be negative")
            factors.append(Factor(var, const, is_sgn=True))
        return mantissa, exponent


def parse_rule(target: str, text: str) -> ProductSeries:
    """The products of rule ``text`` for ``target`` (``dw``, ``dd`` or ``dt``).

    Raises
    ------
    RuleSyntaxError
        ``text`` is outside the grammar (module docstring).
    """
    if target not in sym.LEARNING_RULE_TARGETS:
        raise RuleSyntaxError(f"unknown target {target!r} (allowed: dw, dd, dt)")
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a rule must be a string, got {text!r}")
    builder = _ProductBuilder(target)
    products = tuple(builder.build(p) for p in _split_products(_tokens(text.replace(" ", ""))))
    return ProductSeries(target, products, builder.decimate_exponent)
