"""Fixed-point evaluation of Loihi sum-of-products learning rules.

A rule string (``dw``, ``dd``, ``dt`` of a learning rule) is parsed by
:mod:`lava_eprop.loihi.grammar`, which yields the products, dependencies,
factors, constants and scales that Lava's ``SymbolicEquation`` ->
``ProductSeries`` (``lava/magma/core/learning/product_series.py``) yields
(the tests compare them), so the engine reads what Lava's model reads. :func:`compile_rules` turns them into small plans; :func:`update`
executes one plan with the integer semantics of ``LearningRuleApplierBitApprox``
(``lava/magma/core/learning/learning_rule_applier.py``) and the surrounding
``_apply_learning_rules`` of ``LearningConnectionModelBitApproximate``
(``lava/magma/core/model/py/connection.py``).

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
counter-based generator of :mod:`lava_eprop.engine.counter_rng`
(:func:`synapse_draws`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

# NumPy's clip ufunc, several times faster than np.clip on small int32 arrays
# (numpy._core: NumPy >= 1.26; np.core is deprecated in NumPy 2)
from numpy._core.umath import clip as _clip

from lava_eprop.engine import counter_rng
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


def _saturate(values: np.ndarray, low: int, high: int) -> np.ndarray:
    """Clip in place; the clip itself (several times slower than a min and a
    max for int32) runs only when some value is out of range."""
    if values.min() < low or values.max() > high:
        _clip(values, low, high, out=values)
    return values


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
    factors, and two facts derived from the factors' widths: whether Lava's
    32-bit product register can overflow (``may_wrap``; it then wraps) and
    whether the shifted product can leave the accumulator range
    (``may_saturate``)."""

    dependency: str
    mantissa: int
    left_shift: int
    right_shift: int
    factors: tuple[FactorPlan, ...]
    may_wrap: bool = field(init=False)
    may_saturate: bool = field(init=False)

    def __post_init__(self) -> None:
        bound = abs(self.mantissa)  # the dependency is 0 or 1
        for factor in self.factors:
            bound *= factor.bound
        wraps = bound >= _INT32_LIMIT
        # a negative product's floor shift can gain one unit: round up
        shifted = (-(-bound >> self.right_shift)) << self.left_shift
        object.__setattr__(self, "may_wrap", wraps)
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


def saturate_factor(raw, factor: FactorPlan) -> np.ndarray:
    """``clip(v + c)`` or ``sgn(v + c)`` to the factor's width, as int32.

    Elementwise, so it may be applied to a trace vector before the vector is
    expanded to synapses.
    """
    value = raw + factor.const if factor.const != 0 else raw
    if factor.is_sgn:
        return np.sign(value).astype(np.int32)
    bound = 2 ** factor.width
    return _clip(value, -bound, bound - 1).astype(np.int32)


class Operands(Protocol):
    """What a product reads; arrays broadcast to (n_instances, n_post, n_pre)."""

    def dependency(self, name: str):
        """``x0`` (bool, (n, 1, n_pre)), ``y0`` (bool, (n, n_post, 1)) or ``u`` (int)."""

    def factor(self, factor: FactorPlan, dependency: str) -> np.ndarray:
        """The saturated int32 factor value (see :func:`saturate_factor`)."""


def _flag_outside(saturated, values: np.ndarray, low: int, high: int) -> None:
    """``saturated |= values outside [low, high]`` (if saturation is tracked)."""
    if saturated is not None:
        saturated |= (values < low) | (values > high)


def product_term(product: ProductPlan, operands: Operands, shape: tuple, saturated=None,
                 draw=None):
    """Contribution of one product to the accumulator: int32 array, or 0.

    The factors are multiplied per side first (pre vector, post vector, then
    the per-synapse factors): the product is exact modulo 2^32 in any order,
    so the result equals Lava's sequential 32-bit multiply-accumulate.
    ``saturated`` (bool, ``shape``), if given, is set where the 32-bit
    product or its left shift wraps, or the 16-bit saturation clips it.
    """
    dep = operands.dependency(product.dependency)
    if isinstance(dep, int) and dep == 0:
        return 0  # u = 0 this epoch
    dtype = np.int64 if product.may_wrap else np.int32
    sides = {PRE: [], POST: [], SYNAPSE: []}
    if not isinstance(dep, int):
        sides[_side(product.dependency, product.dependency)].append(dep)
    for factor in product.factors:
        sides[factor.side].append(operands.factor(factor, product.dependency))
    value = np.asarray(product.mantissa, dtype=dtype)
    for side in (PRE, POST, SYNAPSE):
        for operand in sides[side]:
            value = value * operand.astype(dtype, copy=False)
    if product.may_wrap:
        _flag_outside(saturated, value, -_INT32_LIMIT, _INT32_LIMIT - 1)
    if value.shape != shape or value.dtype != np.int32:
        # 32-bit MAC register (wraps like Lava's); else value is already a
        # fresh int32 array of the full shape
        value = np.broadcast_to(value, shape).astype(np.int32)
    if product.right_shift and draw is not None:  # stochastic model: unbiased
        value = ((value + draw) >> product.right_shift).astype(np.int32)
    elif product.right_shift:
        np.right_shift(value, product.right_shift, out=value)  # back to 15 bits
    if product.may_saturate:
        _flag_outside(saturated, value, -_INT32_LIMIT >> product.left_shift,
                      (_INT32_LIMIT - 1) >> product.left_shift)  # the shift wraps
    if product.left_shift:
        np.left_shift(value, product.left_shift, out=value)  # scale exponent e + 7
    if product.may_saturate:
        _flag_outside(saturated, value, ACC_MIN, ACC_MAX)
        _saturate(value, ACC_MIN, ACC_MAX)  # 16-bit signed
    return value


def _saturate_accumulator(target: str, acc: np.ndarray, sign_mode: SignMode,
                          saturated: np.ndarray) -> None:
    if target == TAG_2 or (target == WEIGHTS and sign_mode == SignMode.EXCITATORY):
        saturated |= acc < 0
        np.maximum(acc, 0, out=acc)
    elif target == WEIGHTS and sign_mode == SignMode.INHIBITORY:
        saturated |= acc > 0
        np.minimum(acc, 0, out=acc)


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


def accumulate(plan: RulePlan, values: np.ndarray, operands: Operands,
               saturated=None, draws=None) -> np.ndarray:
    """Steps 1-2: the 16-bit accumulator after all products (int32 array).

    ``values`` (n_instances, n_post, n_pre), the variable before the update,
    must lie within +-2^23 (so that ``values << 7`` fits 32 bits; ``A + P``
    then never leaves 32 bits). ``saturated`` (bool, like ``values``), if
    given, is set where a product wraps or saturates (:func:`product_term`)
    or the accumulator saturates. ``draws`` (:func:`synapse_draws`), if
    given, round the products' shifts as the stochastic model does.
    """
    acc = np.left_shift(values, plan.acc_shift, dtype=np.int32)  # 9-bit variable -> 16-bit acc
    for p, product in enumerate(plan.products):
        draw = None if draws is None else draws.products[p]
        term = product_term(product, operands, values.shape, saturated, draw)
        if isinstance(term, np.ndarray):
            acc += term
        _flag_outside(saturated, acc, ACC_MIN, ACC_MAX)
        _saturate(acc, ACC_MIN, ACC_MAX)  # 16-bit signed accumulator
    return acc


def update(plan: RulePlan, values: np.ndarray, operands: Operands, random: np.ndarray,
           sign_mode: SignMode, draws: SynapseDraws | None = None) -> tuple[np.ndarray, int]:
    """New values (int32) of ``plan.target`` after one learning epoch (steps 1-5),
    and on how many synapses saturation or wrap-around acted in the update
    (32-bit product, 16-bit product and accumulator, sign, 9-bit variable).

    Parameters
    ----------
    plan : RulePlan
    values : ndarray, int, (n_instances, n_post, n_pre)
        The variable before the update.
    operands : Operands
        What the products read.
    random : ndarray, float64, (n_instances, 1, 1)
        The synaptic-variable random double of each instance.
    sign_mode : SignMode
        Sign mode of the weights.
    draws : SynapseDraws, optional
        The stochastic model's per-synapse numbers (:func:`synapse_draws`);
        ``random`` is then not read. Default: Lava's arithmetic.
    """
    saturated = np.zeros(values.shape, bool)
    acc = accumulate(plan, values, operands, saturated, draws)
    _saturate_accumulator(plan.target, acc, sign_mode, saturated)
    if draws is None:
        # r < k / 2^7  <=>  k > floor(r * 2^7) for an integer k (r * 2^7 is exact)
        threshold = np.floor(random * 2 ** plan.round_bits).astype(np.int32)
    else:
        threshold = draws.accumulator  # k > U  with probability k / 2^7
    up = (acc & (2 ** plan.round_bits - 1)) > threshold  # stochastic rounding
    np.right_shift(acc, plan.round_bits, out=acc)  # 16-bit accumulator -> 9-bit variable
    acc += up
    low, high = value_range(plan.target, sign_mode)
    _flag_outside(saturated, acc, low, high)
    return _saturate(acc, low, high), int(np.count_nonzero(saturated))  # 9-bit signed bounds


#: Synaptic variables as the stochastic model's generator numbers them.
TARGET_CODES = {WEIGHTS: 0, TAG_1: 1, TAG_2: 2}


@dataclass(frozen=True)
class SynapseDraws:
    """The stochastic model's numbers for one variable's update: ``accumulator``
    (``U_a``) and per product ``U_p`` (None where the shift is 0), int64
    arrays (n_instances, n_post, n_pre)."""

    accumulator: np.ndarray
    products: tuple


def draw_layout(plan: RulePlan) -> tuple[int, tuple, tuple]:
    """:func:`lava_eprop.engine.counter_rng.draw_layout` of ``plan``'s update."""
    return counter_rng.draw_layout(plan.round_bits, [p.right_shift for p in plan.products])


def synapse_draws(plan: RulePlan, seeds, step: int, shape: tuple) -> SynapseDraws:
    """The stochastic model's numbers of ``plan``'s update at ``step``, for
    instances with connection seeds ``seeds`` and synapses ``shape``
    (n_instances, n_post, n_pre); see :mod:`~lava_eprop.engine.counter_rng`."""
    n_words, acc_slot, product_slots = draw_layout(plan)
    synapses = np.arange(shape[1] * shape[2], dtype=np.uint64).reshape(shape[1:])
    per_instance = []
    with np.errstate(over="ignore"):
        for seed in seeds:
            key = counter_rng.stream_key(int(seed), step, TARGET_CODES[plan.target])
            per_instance.append([counter_rng.words(key, synapses, n_words, k)
                                 for k in range(n_words)])
    words = [np.stack([w[k] for w in per_instance]) for k in range(n_words)]

    def take(slot, count):
        return counter_rng.bits(words[slot[0]], slot[1], count)

    return SynapseDraws(
        accumulator=take(acc_slot, plan.round_bits),
        products=tuple(None if slot is None else take(slot, p.right_shift)
                       for slot, p in zip(product_slots, plan.products)))
