"""LearningDense scenarios: rules, weights and random inputs (needs Lava's rule classes).

Run on Lava's ``LearningDense`` and on the engine in ``test_engine_learning_dense.py``;
``test_engine_fused.py`` and ``test_loihi_vs_lava.py`` reuse them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from lava.magma.core.learning.learning_rule import (
    Loihi2FLearningRule,
    Loihi3FLearningRule,
    LoihiLearningRule,
)
from lava.utils.weightutils import SignMode
from lava_helpers import RECORDED

#: what is compared at every step: the recorded Vars and the output
COMPARED = RECORDED + ("a_out",)


@dataclass
class Scenario:
    """A LearningDense configuration and how its random inputs are drawn."""

    rule: Callable  # rng_seed -> learning rule
    weight_range: tuple
    dense_kwargs: dict = field(default_factory=dict)
    n_pre: int = 8
    n_post: int = 6
    graded: bool = False

    def weights(self, rng, n_instances=None):
        lead = () if n_instances is None else (n_instances,)
        return rng.integers(*self.weight_range, lead + (self.n_post, self.n_pre))

    def inputs(self, rng, steps, n_instances=None):
        """s_in, bap, (y1, y2, y3), each [steps, (n_instances,) n]."""
        lead = (steps,) if n_instances is None else (steps, n_instances)
        pre, post = lead + (self.n_pre,), lead + (self.n_post,)
        s_in = rng.random(pre) < 0.3
        if self.graded:
            s_in = s_in * rng.integers(1, 256, pre)
        bap = (rng.random(post) < 0.25).astype(int)
        # y beyond the 7-bit factor range and negative: clipping is exercised
        y = (rng.integers(-50, 141, post), rng.integers(0, 131, post),
             rng.integers(-150, 151, post))
        return s_in.astype(int), bap, y


SCENARIOS = {
    # e-prop-like: eligibility in t, ALIF-like second variable d, dw from t*y3
    "eprop_3f": Scenario(
        rule=lambda seed: Loihi3FLearningRule(
            dw="-2^-6*u0*t*y3", dt="2^-6*u0*x1*y2 - 2^-3*u0*t",
            dd="2^-7*u0*x1*y2 - u0*2^-5*d - 2^-6*u0*y2*d",
            x1_impulse=20.5, x1_tau=12, x2_impulse=7.25, x2_tau=5, rng_seed=seed),
        weight_range=(-200, 200),
        dense_kwargs=dict(tag_1=("int", -200, 200), tag_2=("int", 0, 100))),
    # classic pair-based STDP with synapse-side post traces, 2-step epochs
    "stdp_2f": Scenario(
        rule=lambda seed: Loihi2FLearningRule(
            dw="2^-2*y0*x1 - 2^-2*x0*y1 + x0*y0", x1_impulse=16.7, x1_tau=10,
            x2_impulse=12, x2_tau=6, y1_impulse=24.3, y1_tau=8, y2_impulse=5.5,
            y3_impulse=3, y3_tau=20, t_epoch=2, rng_seed=seed),
        weight_range=(0, 256),
        dense_kwargs=dict(sign_mode=SignMode.EXCITATORY, num_weight_bits=6, weight_exp=-1)),
    # u1 (every other epoch), 3-step epochs, x0/y0 terms, sgn(w), offsets,
    # graded spikes, a tau-0 trace, inhibitory weights, weight_exp > 0
    "uk_epoch_3f": Scenario(
        rule=lambda seed: Loihi3FLearningRule(
            dw="2^-3*u1*x1*y1 + 3*2^-5*x0*y2*sgn(w) - 2^-2*y0*x2*(y1+3)",
            dt="u1*x2*y3 - 2^-1*u1*t", x1_impulse=30.2, x1_tau=7, x2_impulse=30,
            x2_tau=0, t_epoch=3, rng_seed=seed),
        weight_range=(-255, 1), graded=True,
        dense_kwargs=dict(sign_mode=SignMode.INHIBITORY, num_weight_bits=7, weight_exp=1,
                          num_message_bits=8)),
    # the plain base rule (Lava reads no bap and no y): x0 and u2 products
    "plain_x0_u2": Scenario(
        rule=lambda seed: LoihiLearningRule(
            dw="2^-2*x0*x2 - 2^-4*u2*w + 2^-5*x0*(x1-20)", x1_impulse=10.9, x1_tau=30,
            x2_impulse=40.6, x2_tau=3, rng_seed=seed),
        weight_range=(-100, 100)),
}


def dense_problem(name, steps, seed=0, n_instances=None):
    """Weights, LearningDense keyword arguments and inputs of a scenario."""
    sc = SCENARIOS[name]
    rng = np.random.default_rng(seed)
    weights = sc.weights(rng, n_instances)
    kwargs = {}
    for key, value in sc.dense_kwargs.items():
        if isinstance(value, tuple) and value[0] == "int":
            value = rng.integers(value[1], value[2], weights.shape)
        kwargs[key] = value
    return weights, kwargs, sc.inputs(rng, steps, n_instances)


def run_engine_steps(engine, inputs):
    """Step the engine through [steps, ...] inputs; state of every step."""
    s_in, bap, (y1, y2, y3) = inputs
    trace = {name: [] for name in COMPARED}
    for k in range(len(s_in)):
        a_out = engine.step(s_in[k], bap[k], y1[k], y2[k], y3[k])
        state = engine.snapshot()
        state["a_out"] = a_out
        for name in COMPARED:
            trace[name].append(state[name])
    return {name: np.stack(values, axis=1) for name, values in trace.items()}


#: rules for the accumulator against Lava's bit-approximate applier
RULES_FOR_APPLIER = [
    "u0*x1*y2 - u0*2^-3*t",
    "-2^-2*u0*t*y3",
    "u0*x1*y2 - u0*2^-7*d - 2^-4*u0*y2*d",
    "-2^-1*u0*t*(y3-64) + 2^-7*u0*(x2+5)",
    "2^-2*y0*x1 - 2^-2*x0*y1 + x0*y0 - 3*2^3*y0*sgn(w)",
    "7*2^8*u0*x1*y2 - 8*2^8*u0*w*t",
    "u0*x1*y1*y2*y3*w",  # wraps around in Lava's 32-bit product register
    "x0*y1*y2*d + y0*x2*y3*t - 5*2^-7*u0*sgn(t+1)",
]
