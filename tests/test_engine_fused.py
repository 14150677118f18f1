"""The compiled LearningDense kernel equals the same source interpreted; saturation is counted.

The interpreted kernels (``LearningDenseEngine(fused=False)``: numba's
``DISABLE_JIT``) are checked against Lava in ``test_engine_learning_dense.py``;
here the compiled kernel must reproduce them bit for bit over many steps,
several instances and random-number chunk boundaries, for every rule kind
those tests cover, with the same saturation counts. The counts of
constructed saturating cases are derived by hand from Lava's documented
arithmetic (``rule_eval``'s docstring).
"""
from __future__ import annotations

import numpy as np
import pytest
from dense_scenarios import COMPARED, SCENARIOS, dense_problem, run_engine_steps
from lava.magma.core.learning.learning_rule import (
    Loihi3FLearningRule,
    LoihiLearningRule,
)

from lava_eprop.engine import LearningDenseEngine


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_compiled_kernel_equals_interpreted_kernel_over_2100_steps(name):
    """3 instances (two sharing a seed), 2100 steps: past the engine's 256-step
    random chunks."""
    n, seeds = 3, [3, 9, 3]
    sc = SCENARIOS[name]
    weights, kwargs, inputs = dense_problem(name, 2100, seed=8, n_instances=n)
    engines = [LearningDenseEngine(weights=weights, learning_rule=sc.rule(3), n_instances=n,
                                   rng_seeds=seeds, fused=fused, **kwargs)
               for fused in (True, False)]
    compiled, interpreted = (run_engine_steps(engine, inputs) for engine in engines)
    for var in COMPARED:
        differs = np.flatnonzero([not np.array_equal(a, b)
                                  for a, b in zip(np.moveaxis(compiled[var], 1, 0),
                                                  np.moveaxis(interpreted[var], 1, 0))])
        assert differs.size == 0, f"{var} first differs at step {differs[0] + 1}"
    assert engines[0].counters == engines[1].counters
    assert engines[0].counters["weights"] > 0   # the counting paths were exercised
    assert not np.array_equal(compiled["weights"][:, 0], compiled["weights"][:, -1])


def _saturating_rule(seed=0):
    """+8 per epoch on w and t, -8 on d (each product ``2^3 u0`` adds 1024 = 8 << 7 to
    the 16-bit accumulator, exactly: no rounding), and a pre trace with impulse 100."""
    return LoihiLearningRule(dw="2^3*u0", dt="2^3*u0", dd="-2^3*u0", x1_impulse=100,
                             x1_tau=1000, rng_seed=seed)


@pytest.mark.parametrize("fused", [True, False])
def test_saturating_weights_tags_and_traces_are_counted(fused):
    """Hand derivation, 10 epochs of one step, 6 x 8 synapses:

    * w from 240: 248, then 248 << 7 + 1024 = 2^15 > 2^15 - 1: the accumulator
      saturates in every epoch from the 2nd: 9 x 48 events.
    * t from 100: 108 .. 180, never near a limit: 0 events.
    * d from 16: 8, 0, then A = -1024 < 0 is cut to 0 by d's sign saturation
      in every epoch from the 3rd: 8 x 48 events.
    * x1 of a neuron spiking every step: 100, then decayed (>= 99) + 100 > 127
      in every later step: 9 x 8 events; x2 (no impulse) none.
    """
    n_post, n_pre, steps = 6, 8, 10
    engine = LearningDenseEngine(weights=np.full((n_post, n_pre), 240), tag_1=100, tag_2=16,
                                 learning_rule=_saturating_rule(), fused=fused)
    for _ in range(steps):
        engine.step(np.ones(n_pre, int))
    assert (engine.weights == 255).all() and (engine.tag_2 == 0).all()
    assert (engine.tag_1 == 100 + 8 * steps).all() and (engine.x1 == 127).all()
    assert engine.counters == {"weights": 9 * 48, "tag_1": 0, "tag_2": 8 * 48,
                               "x1": 9 * n_pre, "x2": 0, "y1": 0, "y2": 0, "y3": 0,
                               "a_buff": 0}


@pytest.mark.parametrize("fused", [True, False])
def test_activation_beyond_int32_is_counted_when_sent(fused):
    """a_buff = (number of spiking pre neurons) * 255 << 24 exceeds 2^31 - 1 from
    2 spikes on; it is sent (wrapped) one step later; no learning (dw = 0 * ...)."""
    n_post, n_pre = 3, 4
    rule = Loihi3FLearningRule(dw="0*u0*x1", x1_impulse=1, x1_tau=10)
    engine = LearningDenseEngine(weights=np.full((n_post, n_pre), 254), learning_rule=rule,
                                 weight_exp=23, fused=fused)
    spikes = [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]]
    sent = [engine.step(np.array(s)) for s in spikes + [np.zeros(n_pre, int)]]
    wide = [0] + [sum(s) * 254 << 23 for s in spikes]
    outside = sum(n_post for a in wide if not -2 ** 31 <= a < 2 ** 31)
    assert outside == 2 * n_post
    assert engine.counters["a_buff"] == outside
    np.testing.assert_array_equal(np.concatenate(sent).ravel(), np.array(
        [np.int64(a).astype(np.int32) for a in wide]).repeat(n_post))
