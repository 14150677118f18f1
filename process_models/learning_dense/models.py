"""A second CPU model of Lava's own ``LearningDense``: the stochastic learning engine.

Lava 0.10's fixed-point model (``PyLearningDenseModelBitApproximate``, tag
``bit_approximate_loihi``) "does not implement the exact behavior of Loihi",
its docstring says. Two of its choices decide how small learning updates
survive: it floors every product's right shift, and it rounds every synapse
of a connection with one random number per step (``ConnVarRandom``, seeded
2 whatever the rule's ``rng_seed``). Intel publishes nothing on how Loihi 2
rounds. Simulators compared against Loihi hardware round learned weights
with a random number per synapse (nengo-loihi's emulator, tuned against
Loihi 1; Brian2Loihi), and ReckOn (Frenkel & Indiveri, ISSCC 2022), which
learns with 8-bit weights on chip, moves each synapse by one unit with a
random number of its own, never flooring.

:class:`PyLearningDenseModelStochastic` is that alternative, stated as a
**hypothesis about the hardware**, not a fact: the same process, rules,
traces, epochs and widths as Lava's model, with two changes in the update
of a synaptic variable ``z`` (``w``, ``t`` = tag_1, ``d`` = tag_2):

1. accumulator ``A = z << 7`` (16 bits);
2. per product ``s_m 2^e dep f_1 ... f_n``, as Lava evaluates it:
   ``P = dep * prod clip(f_i + c_i, -2^W_i, 2^W_i - 1) * s_m`` in 32-bit
   two's complement; then, with ``s = max(0, sum W_i + 4 - 15)``,
   ``P = (P + U_p) >> s`` computed exactly (**stochastic, unbiased**; Lava:
   ``P >> s``), ``U_p`` uniform in ``[0, 2^s)``; ``P = P << (e + 7)`` in 32
   bits; ``P = clip(P, -2^15 - 1, 2^15 - 1)``;
   ``A = clip(A + P, -2^15 - 1, 2^15 - 1)``;
3. sign saturation of ``A`` as Lava's (``d`` and excitatory weights
   ``max(A, 0)``, inhibitory ``min(A, 0)``);
4. ``z = (A >> 7) + [U_a < A mod 2^7]`` with ``U_a`` uniform in
   ``[0, 2^7)`` **per synapse** (Lava: one number per connection and step);
5. saturation of ``z`` as Lava's.

``U_p`` and ``U_a`` are cut from counter-based random words keyed by (the
rule's ``rng_seed``, the learning step, the variable, the synapse) in the
layout of :func:`lava_eprop.engine.counter_rng.draw_layout`: a run is
reproducible, and the fast engine (``fixed_point.rounding: stochastic``)
computes the same numbers bit for bit with any number of instances. The
trace random numbers (decay and impulse rounding) stay Lava's.

What would settle it on a chip: give about 1000 synapses of one connection
a rule that adds a fraction of a unit in one epoch, e.g. ``dw = 2^-3 u0``
on zero weights, and read the weights back. Per-synapse rounding moves a
binomial number of them (about 125 by one unit); one shared random number
moves none or all of them; a floored product moves none.

The Loihi 2 hardware graph is the same either way: this model only replaces
the CPU model that ``Loihi2SimCfg`` selects (:func:`lava_eprop.lava_run.run_config`).
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.learning import string_symbols as sym
from lava.magma.core.learning.constants import (
    FACTOR_TO_WIDTH_DICT,
    W_ACCUMULATOR_S,
    W_ACCUMULATOR_U,
    W_S_MANT,
    W_SYN_VAR_S,
    W_SYN_VAR_U,
)
from lava.magma.core.learning.learning_rule_applier import LearningRuleApplierBitApprox
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.dense.models import PyLearningDenseModelBitApproximate
from lava.proc.dense.process import LearningDense

from lava_eprop.engine import counter_rng

#: The generator's numbering of the synaptic variables.
_TARGET_CODES = {"weights": 0, "tag_1": 1, "tag_2": 2}
#: Lava's bounds of the 16-bit accumulator and of a product's contribution.
_ACC_MIN, _ACC_MAX = -(2 ** W_ACCUMULATOR_U) - 1, 2 ** W_ACCUMULATOR_U - 1


@implements(proc=LearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("stochastic_rounding", "fixed_pt")
class PyLearningDenseModelStochastic(PyLearningDenseModelBitApproximate):
    """Lava's fixed-point ``LearningDense`` model with per-synapse, unbiased
    rounding of learning updates (module docstring: the exact semantics, and
    why this is a hypothesis about Loihi 2)."""

    def _apply_learning_rules(self, x_traces_history: np.ndarray,
                              y_traces_history: np.ndarray) -> None:
        args = self._extract_applier_args(x_traces_history, y_traces_history)
        n_post, n_pre = self._shape
        synapses = np.arange(n_post * n_pre, dtype=np.uint64).reshape(n_post, n_pre)
        updated = {}
        for target, series in self._learning_rule.active_product_series.items():
            name = sym.SYNAPTIC_VARIABLE_VAR_MAPPING[target[1:]]
            updated[name] = self._updated(name, series.products, args, synapses)
        for name, values in updated.items():   # every rule read the values before the epoch
            setattr(self, name, values)

    def _updated(self, name: str, products, args: dict, synapses: np.ndarray) -> np.ndarray:
        """Steps 1-5 of the module docstring for one synaptic variable."""
        old = getattr(self, name)
        round_bits = W_ACCUMULATOR_U - W_SYN_VAR_U[name]
        shifts = [max(0, sum(FACTOR_TO_WIDTH_DICT[f.state_var] for f in p.factors)
                      + W_S_MANT - W_ACCUMULATOR_U) for p in products]
        n_words, acc_slot, slots = counter_rng.draw_layout(round_bits, shifts)
        with np.errstate(over="ignore"):
            key = counter_rng.stream_key(self._learning_rule.rng_seed, self.time_step,
                                         _TARGET_CODES[name])
            words = [counter_rng.words(key, synapses, n_words, k) for k in range(n_words)]

        acc = np.asarray(old, np.int64) << (W_ACCUMULATOR_S - W_SYN_VAR_S[name])
        for product, shift, slot in zip(products, shifts, slots):
            mac = np.ones(self._shape, np.int32) * np.int32(args[product.dependency])
            for factor in product.factors:
                width = FACTOR_TO_WIDTH_DICT[factor.state_var]
                value = LearningRuleApplierBitApprox._compute_factor(
                    product.dependency, factor, args)
                mac *= np.clip(value, -(2 ** width), 2 ** width - 1).astype(np.int32)
            mac *= np.int32(product.s_mantissa)             # 32-bit MAC, wraps
            term = mac.astype(np.int64)
            if shift:                                        # unbiased, not floored
                term = (term + counter_rng.bits(words[slot[0]], slot[1], shift)) >> shift
            term = np.left_shift(term.astype(np.int32), product.s_exp)   # 32 bits, wraps
            acc = np.clip(acc + np.clip(term, _ACC_MIN, _ACC_MAX), _ACC_MIN, _ACC_MAX)
        acc = self._saturate_synaptic_variable_accumulator(name, acc)
        up = (acc & (2 ** round_bits - 1)) > counter_rng.bits(words[acc_slot[0]], acc_slot[1],
                                                               round_bits)
        new = (acc >> round_bits) + up                       # per-synapse rounding
        return self._saturate_synaptic_variable(name, new).astype(np.asarray(old).dtype)
