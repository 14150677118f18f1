"""Fixed-point evaluation of Loihi sum-of-products learning rules.

A rule string (``dw``, ``dd``, ``dt`` of a learning rule) is parsed by
:mod:`lava_eprop.loihi.grammar`, which yields the products, dependencies,
factors, constants and scales that Lava's ``SymbolicEquation`` ->
``ProductSeries`` (``lava/magma/core/learning/product_series.py``) yields
(the tests compare them), so the engine reads what Lava's model reads.
:func:`compile_rules` turns them into small plans, which
:func:`lava_eprop.engine.fused.encode_rules` encodes and
:mod:`lava_eprop.engine.rule_codegen` writes out as code, with the integer
semantics of ``LearningRuleApplierBitApprox``
(``lava/magma/core/learning/learning_rule_applier.py``) and the surrounding
``_apply_learning_rules`` of ``LearningConnectionModelBitApproximate``
(``lava/magma/core/model/py/connection.py``), given here.

Integer semantics of one synaptic-variable update ``z <- z + dz`` (``z`` is
``w`` = weights, ``d`` = tag_2 or ``t`` = tag_1, all 9-bit signed):

1. Accumulator ``A = z << 7`` (16-bit signed accumulator, ``W_ACCUMULATOR_S``
   minus the variable's 9 signed bits).
2. For each product ``s_m * 2^(s_e) * dep * f_1 * ... * f_n``, in the rule's
   order:

   a. ``P = dep * prod_i clip(f_i + c_i, -2^W_i, 2^W_i - 1) * s_m`` in 32-bit
      two's complement (wraps; ``W_i`` is the factor's width: 1 for
      ``x0``/``y0``, 7 for traces, 9 for ``w``/``d``/``t``; ``sgn(z + c)`` is
      in ``{-1, 0, 1}`` with the width of ``z``). ``dep`` is the pre-spike
      flag ``x0`` (per presynaptic neuron), the post-spike flag ``y0`` (per
      postsynaptic neuron) or ``u`` (1 in epochs whose index is a multiple of
      ``2^k``). Traces are read at the step the dependency names: ``x0`` at
      the presynaptic neuron's last spike of the epoch, ``y0`` at the
      postsynaptic neuron's, ``u`` at the end of the epoch.
   b. ``P = P >> max(0, sum_i W_i + 4 - 15)`` (arithmetic; 4 = mantissa
      bits, 15 = unsigned accumulator bits), then ``P = P << (e + 7)`` in 32
      bits, where the scale is ``s_m * 2^e`` with ``s_m`` in ``[-8, 7]``.
   c. ``P = clip(P, -2^15 - 1, 2^15 - 1)``;
      ``A = clip(A + P, -2^15 - 1, 2^15 - 1)``.

3. Sign saturation of ``A``: excitatory weights ``max(A, 0)``, inhibitory
   weights ``min(A, 0)``, ``d`` ``max(A, 0)``; mixed weights and ``t`` none.
4. Stochastic rounding back to 9 bits: ``z = (A >> 7) + [r < (A mod 2^7) / 2^7]``
   with the connection's one synaptic-variable random double ``r``.
5. Saturation: weights to ``[-256, 255]`` (mixed), ``[0, 255]``
   (excitatory), ``[-255, 0]`` (inhibitory); ``d`` to ``[0, 255]``; ``t`` to
   ``[-257, 255]`` (Lava's bounds, kept as they are).

Every rule of an epoch reads the values of ``w``, ``d``, ``t`` from before
that epoch's updates.

The ``stochastic`` model (``fixed_point.rounding: stochastic``; a hypothesis
about Loihi 2, not Lava's arithmetic) changes two steps and nothing else:

* 2b: ``P = (P + U_p) >> s`` with ``U_p`` uniform in ``[0, 2^s)``, computed
  without wrapping (the sum is exact in 64 bits; the result fits 32): the
  product's shift rounds stochastically, without bias, instead of down;
* 4: ``z = (A >> 7) + [U_a < A mod 2^7]`` with ``U_a`` uniform in
  ``[0, 2^7)``: each synapse rounds with a number of its own.

``U_p`` and ``U_a`` are drawn per synapse, variable and epoch from the
counter-based generator of :mod:`lava_eprop.engine.counter_rng`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lava_eprop.loihi import symbols as sym
from lava_eprop.loihi.constants import (
    FACTOR_TO_WIDTH_DICT,
    W_ACCUMULATOR_S,
    W_ACCUMULATOR_U,
    W_S_MANT,
    W_SYN_VAR_S,
    W_SYN_VAR_U,
    W_TAG_1_U,
    W_TAG_2_U,
    W_WEIGHTS_U,
    SignMode,
)
from lava_eprop.loihi.rule import LearningRule, as_learning_rule

#: Accumulator saturation bounds (Lava clips to [-2^15 - 1, 2^15 - 1]).
ACC_MIN = -(2 ** W_ACCUMULATOR_U) - 1
ACC_MAX = 2 ** W_ACCUMULATOR_U - 1

#: Lava's attribute names of the synaptic variables w, d, t.
WEIGHTS, TAG_2, TAG_1 = "weights", "tag_2", "tag_1"

#: Where a factor's value varies: per presynaptic neuron, per postsynaptic
#: neuron, or per synapse (decides the cheapest evaluation order).
PRE, POST, SYNAPSE = "pre", "post", "synapse"

_INT32_LIMIT = 2 ** 31


@dataclass(frozen=True)
class FactorPlan:
    """One factor: a state variable (trace, x0/y0, w/d/t or 'C'), its additive
    constant, whether it is ``sgn(.)``, its width, and its side."""

    var: str
    const: int | float
    is_sgn: bool
    width: int
    side: str

    @property
    def bound(self) -> int:
        """Largest possible magnitude of the saturated factor value."""
        return 1 if self.is_sgn else 2 ** self.width


@dataclass(frozen=True)
class ProductPlan:
    """One product: dependency ('x0', 'y0' or 'u'), scale mantissa, the left
    shift ``e + 7`` of the scale, the right shift of the raw product, its
    factors, and whether, given the factors' widths, the product can leave
    the accumulator range (``may_saturate``: Lava's 32-bit product register
    wraps, or the shifted product exceeds 16 bits)."""

    dependency: str
    mantissa: int
    left_shift: int
    right_shift: int
    factors: tuple[FactorPlan, ...]
    may_saturate: bool = field(init=False)

    def __post_init__(self) -> None:
        bound = abs(self.mantissa)  # the dependency is 0 or 1
        for factor in self.factors:
            bound *= factor.bound
        wraps = bound >= _INT32_LIMIT
        # a negative product's floor shift can gain one unit: round up
        shifted = (-(-bound >> self.right_shift)) << self.left_shift
        object.__setattr__(self, "may_saturate", wraps or shifted > ACC_MAX)


@dataclass(frozen=True)
class RulePlan:
    """The update of one synaptic variable (``target`` is Lava's Var name)."""

    target: str
    products: tuple[ProductPlan, ...]

    @property
    def acc_shift(self) -> int:
        """Left shift from the variable into the accumulator (7)."""
        return W_ACCUMULATOR_S - W_SYN_VAR_S[self.target]

    @property
    def round_bits(self) -> int:
        """Fraction bits dropped by stochastic rounding (7)."""
        return W_ACCUMULATOR_U - W_SYN_VAR_U[self.target]


def _side(var: str, dependency: str) -> str:
    if var in sym.PRE_TRACES:
        return SYNAPSE if dependency == sym.Y0 else PRE
    if var in sym.POST_TRACES:
        return SYNAPSE if dependency == sym.X0 else POST
    return {sym.X0: PRE, sym.Y0: POST}.get(var, SYNAPSE)


def compile_rules(rule) -> tuple[RulePlan, ...]:
    """Plans of every rule the learning rule defines, in Lava's order (dw, dd, dt).

    ``rule`` is a :class:`~lava_eprop.loihi.rule.LearningRule` or a Lava rule
    object (read by :func:`~lava_eprop.loihi.rule.as_learning_rule`).
    """
    plans = []
    rule: LearningRule = as_learning_rule(rule)
    for target, series in rule.active_product_series.items():
        products = []
        for product in series.products:
            factors = tuple(
                FactorPlan(var=f.state_var, const=f.const if f.has_const() else 0,
                           is_sgn=f.is_sgn, width=FACTOR_TO_WIDTH_DICT[f.state_var],
                           side=_side(f.state_var, product.dependency))
                for f in product.factors)
            width_sum = sum(f.width for f in factors) + W_S_MANT
            products.append(ProductPlan(
                dependency=product.dependency, mantissa=int(product.s_mantissa),
                left_shift=int(product.s_exp),  # Lava stores e + 7, in [0, 15]
                right_shift=max(0, width_sum - W_ACCUMULATOR_U), factors=factors))
        plans.append(RulePlan(sym.SYNAPTIC_VARIABLE_VAR_MAPPING[target[1:]],
                              tuple(products)))
    return tuple(plans)


def value_range(target: str, sign_mode: SignMode) -> tuple[int, int]:
    """Saturation bounds of a synaptic variable (Lava's
    ``_saturate_synaptic_variable``; weights as ``clip_weights(num_bits=8)``)."""
    if target == WEIGHTS:
        if sign_mode == SignMode.MIXED:
            return -(2 ** W_WEIGHTS_U), 2 ** W_WEIGHTS_U - 1
        if sign_mode == SignMode.INHIBITORY:
            return -(2 ** W_WEIGHTS_U - 1), 0
        return 0, 2 ** W_WEIGHTS_U - 1
    if target == TAG_2:
        return 0, 2 ** W_TAG_2_U - 1
    return -(2 ** W_TAG_1_U) - 1, 2 ** W_TAG_1_U - 1


#: Synaptic variables as the stochastic model's generator numbers them.
TARGET_CODES = {WEIGHTS: 0, TAG_1: 1, TAG_2: 2}
