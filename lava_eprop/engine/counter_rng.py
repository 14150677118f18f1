"""Counter-based random numbers of the ``stochastic`` learning-engine model.

The ``stochastic`` model of ``LearningDense`` (``fixed_point.rounding:
stochastic``; :mod:`lava_eprop.engine.rule_eval`) rounds every product's
right shift and every synapse's accumulator with random integers of its own.
They are not drawn from a stateful generator but computed from their key,
so any part of a run can be recomputed in any order, by any number of
instances or threads, and nothing but the step number needs checkpointing:

* ``key = stream_key(seed, step, target)``, with ``seed`` the connection's
  ``rng_seed`` (the rule's; the product's network sets it from the trial's
  seed and the projection, :meth:`NetworkSpec.rule_seed`), ``step`` the
  time step of the learning epoch (1-based, as Lava's ``time_step``) and
  ``target`` the synaptic variable (0 ``w``, 1 ``t`` = tag_1, 2 ``d`` =
  tag_2);
* per synapse ``(j, q)`` of an ``n_post x n_pre`` connection, word ``k`` of
  that variable's update is ``word(key, (j n_pre + q) n_words + k)``, 64
  random bits;
* :func:`draw_layout` places the update's draws in those words: first the
  accumulator's rounding (``round_bits`` bits), then each product with a
  right shift ``s > 0`` (``s`` bits), in the rule's order, each in the low
  bits of what is left of the current word, or of the next word when it no
  longer fits.

The mixing function is SplitMix64's finaliser (Steele, Lea & Flood,
"Fast splittable pseudorandom number generators", OOPSLA 2014), applied to
``state + (index + 1) * 0x9E3779B97F4A7C15`` as in SplitMix64's own
stream; each level of the key (seed, step, variable) is absorbed the same
way. :func:`mix64` and :func:`absorb` are plain NumPy ``uint64`` arithmetic
(wrapping), written once: NumPy evaluates them on arrays, and numba compiles
the same functions into the generated kernels (``register_jitable``), where
every operand must be ``uint64`` (numba turns ``uint64`` with ``int64`` into
a float).
"""
from __future__ import annotations

import numpy as np

from numba.extending import register_jitable

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_ONE = np.uint64(1)
#: Bits in one word.
WORD_BITS = 64


@register_jitable
def mix64(z):
    """SplitMix64's finaliser: a bijection of ``uint64`` with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@register_jitable
def absorb(state, value):
    """``mix64(state + (value + 1) * GOLDEN)``: the next key level, or a word."""
    return mix64(state + (value + _ONE) * GOLDEN)


@register_jitable
def stream_key(seed, step, target):
    """The key of one synaptic variable's update in one learning epoch (NumPy
    scalars warn on the wrapping multiplications: call under
    ``np.errstate(over="ignore")``)."""
    key = absorb(np.uint64(0), np.uint64(seed))
    key = absorb(key, np.uint64(step))
    return absorb(key, np.uint64(target))


def words(key, synapses: np.ndarray, n_words: int, word: int) -> np.ndarray:
    """Word ``word`` of every synapse index in ``synapses`` (uint64 array)."""
    return absorb(np.uint64(key), synapses.astype(np.uint64) * np.uint64(n_words)
                  + np.uint64(word))


def draw_layout(round_bits: int, right_shifts) -> tuple[int, tuple, tuple]:
    """Where a variable's update finds its random bits.

    Parameters
    ----------
    round_bits : int
        Fraction bits of the accumulator rounding (7).
    right_shifts : sequence of int
        Each product's right shift, in the rule's order.

    Returns
    -------
    n_words : int
        Words per synapse.
    accumulator : (word, offset)
    products : tuple of (word, offset) or None
        Per product; None where the shift is 0 (nothing to round).
    """
    word, offset = 0, 0

    def place(bits: int) -> tuple[int, int]:
        nonlocal word, offset
        if offset + bits > WORD_BITS:
            word, offset = word + 1, 0
        slot = (word, offset)
        offset += bits
        return slot

    accumulator = place(round_bits)
    products = tuple(place(s) if s else None for s in right_shifts)
    return word + 1, accumulator, products


def bits(word, offset: int, count: int):
    """``count`` bits of ``word`` from bit ``offset`` on, as int64."""
    return ((word >> np.uint64(offset)) & np.uint64((1 << count) - 1)).astype(np.int64)
