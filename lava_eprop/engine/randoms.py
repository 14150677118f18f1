"""The random numbers of Lava's fixed-point learning engine, drawn in bulk.

Mirrors ``lava/magma/core/learning/random.py`` (``TraceRandom``,
``ConnVarRandom``) as used by ``LearningConnectionModelBitApproximate`` in
``lava/magma/core/model/py/connection.py``:

* each random source is its own ``numpy.random.default_rng(seed)``;
* a source draws one number when it is created (draw 0) and one more at every
  ``advance()``; the number in use is always the latest draw, so after ``n``
  advances it is draw ``n`` of the stream (what :meth:`DrawStream.take`
  returns, for ``n = 1, 2, ...``);
* one number serves *every* synapse and trace of a connection that uses it
  at that moment: there is no per-synapse randomness;
* trace sources (pre: seeds ``rng_seed`` and ``rng_seed + 1``; post:
  ``rng_seed + 2`` and ``rng_seed + 3``) draw ``Generator.random()`` doubles
  in ``[0, 1)`` for stochastic rounding after decay and
  ``Generator.integers(0, 2**7)`` (``W_TRACE`` bits) for stochastic rounding
  after impulse addition;
* the synaptic-variable source always uses seed 2, whatever ``rng_seed`` is,
  and draws ``Generator.random()`` doubles.

Drawing ``n`` numbers in one call yields the same sequence as ``n`` calls of
one number each, for both kinds of draw (PCG64 doubles take one 64-bit output
each; 7-bit integers take 32-bit halves in order, and a power-of-two range
never rejects; the tests check the streams against Lava's own classes), so
the engine draws the numbers of many steps at once.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lava_eprop.loihi.constants import W_TRACE

#: Seed Lava's ``ConnVarRandom()`` is created with: ``rng_seed`` is ignored.
SYNAPTIC_VARIABLE_SEED = 2



def _uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random(n)


def _impulse_integer(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2 ** W_TRACE, size=n, dtype=int)


class DrawStream:
    """One random source per instance, drawn in order.

    Parameters
    ----------
    seeds : sequence of int
        Seed of each instance's source; instances with equal seeds share one
        generator (they see the same numbers, as independent Lava runs with
        that seed would).
    draw : callable
        ``draw(rng, n)`` returns the next ``n`` numbers of ``rng``.
    """

    def __init__(self, seeds: Sequence[int], draw: Callable) -> None:
        unique, self._instance_row = np.unique(np.asarray(seeds, dtype=np.int64),
                                               return_inverse=True)
        self._rngs = [np.random.default_rng(int(seed)) for seed in unique]
        self._draw = draw
        for rng in self._rngs:  # draw 0, made when Lava creates the source
            draw(rng, 1)

    def take(self, count: int) -> np.ndarray:
        """The numbers in use after each of the next ``count`` advances,
        (n_instances, count); the stream is then ``count`` draws further on."""
        return np.stack([self._draw(rng, count) for rng in self._rngs])[self._instance_row]


class TraceRandomStreams:
    """Lava's ``TraceRandom``: a decay stream and an impulse stream.

    ``decay`` holds the double in ``[0, 1)`` that stochastically rounds a
    decayed trace; ``impulse`` the integer in ``[0, 2**7)`` that
    stochastically rounds an impulse addition (compared with the impulse's
    8-bit fraction, as Lava does).
    """

    def __init__(self, seeds_decay: Sequence[int], seeds_impulse: Sequence[int]) -> None:
        self.decay = DrawStream(seeds_decay, _uniform)
        self.impulse = DrawStream(seeds_impulse, _impulse_integer)


def synaptic_variable_stream(n_instances: int) -> DrawStream:
    """Lava's ``ConnVarRandom()``: seed 2 for every instance."""
    return DrawStream([SYNAPTIC_VARIABLE_SEED] * n_instances, _uniform)
