"""The fast engine's LearningDense is bit-identical to Lava's fixed-point LearningDense.

Lava 0.10.0 (``Loihi2SimCfg(select_tag="fixed_pt")``, i.e.
``PyLearningDenseModelBitApproximate``) and :class:`LearningDenseEngine` get
identical pre spikes, post spikes (bap) and third factors y1..y3; a_out,
weights, tags t (tag_1) and d (tag_2) and traces x1, x2, y1, y2, y3 must be
equal at every step, with the compiled kernel and with the NumPy path.
The same holds for the stochastic model: this package's second CPU model of
``LearningDense`` (:mod:`process_models.learning_dense.models`) against the
engine with ``rounding="stochastic"``.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from lava.magma.core.learning.learning_rule import (
    Loihi2FLearningRule,
    Loihi3FLearningRule,
    LoihiLearningRule,
)
from lava.magma.core.learning.learning_rule_applier import LearningRuleApplierBitApprox
from lava.magma.core.learning.random import ConnVarRandom, TraceRandom
from lava.utils.weightutils import SignMode

from lava_eprop.engine import LearningDenseEngine
from lava_eprop.engine import rule_eval
from lava_eprop.engine.randoms import TraceRandomStreams, synaptic_variable_stream
from lava_helpers import RECORDED, run_lava_learning_dense

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


def _problem(name, steps, seed=0, n_instances=None):
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


def _run_engine(engine, inputs):
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


def _assert_same_every_step(engine_trace, lava_trace):
    for name in COMPARED:
        ours, theirs = engine_trace[name][0], lava_trace[name]
        assert ours.shape == theirs.shape, name
        differs = np.flatnonzero([not np.array_equal(a, b) for a, b in zip(ours, theirs)])
        assert differs.size == 0, (
            f"{name} first differs at step {differs[0] + 1}:\n"
            f"engine:\n{ours[differs[0]]}\nlava:\n{theirs[differs[0]]}")


def _compare_with_lava(name, steps, seed=0, rng_seed=11, rounding="lava"):
    sc = SCENARIOS[name]
    weights, kwargs, inputs = _problem(name, steps, seed)
    s_in, bap, y = inputs
    lava = run_lava_learning_dense(weights=weights, learning_rule=sc.rule(rng_seed),
                                   s_in=s_in, s_in_bap=bap, y=y,
                                   stochastic=rounding == "stochastic", **kwargs)
    for fused in (True, False):  # the compiled kernel and the NumPy specification
        engine = LearningDenseEngine(weights=weights, learning_rule=sc.rule(rng_seed),
                                     fused=fused, rounding=rounding, **kwargs)
        assert engine.fused == fused
        _assert_same_every_step(_run_engine(engine, inputs), lava)
    # the run must actually learn, or the comparison proves little
    assert not np.array_equal(lava["weights"][0], lava["weights"][-1])


@pytest.mark.parametrize("rounding", ["lava", "stochastic"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_engine_equals_lava_learning_dense_every_step(name, rounding):
    """``lava``: Lava's own model; ``stochastic``: process_models' second model."""
    _compare_with_lava(name, steps=150, rounding=rounding)


@pytest.mark.slow
@pytest.mark.parametrize("rounding", ["lava", "stochastic"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_engine_equals_lava_learning_dense_over_1200_steps(name, rounding):
    _compare_with_lava(name, steps=1200, seed=1, rng_seed=4242, rounding=rounding)


def test_eprop_scenario_exercises_tag_dynamics_not_saturation():
    weights, kwargs, inputs = _problem("eprop_3f", 150)
    engine = LearningDenseEngine(weights=weights, learning_rule=SCENARIOS["eprop_3f"].rule(11),
                                 **kwargs)
    t = _run_engine(engine, inputs)["tag_1"][0]
    assert (np.diff(t, axis=0) > 0).any() and (np.diff(t, axis=0) < 0).any()
    assert np.abs(t[-1]).max() < 255


@pytest.mark.parametrize("rounding", ["lava", "stochastic"])
def test_instances_equal_separate_single_instance_runs(rounding):
    """Instance i of a 4-instance engine is a single-instance run with rng_seed_i."""
    n, steps, seeds = 4, 120, [11, 12, 13, 11]
    sc = SCENARIOS["uk_epoch_3f"]
    weights, kwargs, inputs = _problem("uk_epoch_3f", steps, seed=3, n_instances=n)
    kwargs["tag_1"] = np.random.default_rng(4).integers(-100, 100, weights.shape)
    s_in, bap, y = inputs
    batched = _run_engine(LearningDenseEngine(weights=weights, learning_rule=sc.rule(11),
                                              n_instances=n, rng_seeds=seeds, rounding=rounding,
                                              **kwargs), inputs)
    for i, seed in enumerate(seeds):
        own = {k: v[i] if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        single = LearningDenseEngine(weights=weights[i], learning_rule=sc.rule(seed),
                                     rounding=rounding, **own)
        alone = _run_engine(single, (s_in[:, i], bap[:, i], tuple(v[:, i] for v in y)))
        for name in COMPARED:
            np.testing.assert_array_equal(batched[name][i], alone[name][0], err_msg=name)
    assert not np.array_equal(batched["weights"][0], batched["weights"][1])


@pytest.mark.parametrize("seed", [0, 7, 123456])
def test_random_streams_follow_lavas_generators(seed):
    lava_x, lava_syn = TraceRandom(seed, seed + 1), ConnVarRandom()
    ours_x, ours_syn = TraceRandomStreams([seed, seed], [seed + 1, seed + 1]), \
        synaptic_variable_stream(2)
    for _ in range(5000):  # crosses the engine's 4096-draw block boundary
        assert ours_x.decay.value[1, 0] == lava_x.random_trace_decay
        assert ours_x.impulse.value[1, 0] == lava_x.random_impulse_addition
        assert ours_syn.value[0, 0] == lava_syn.random_stochastic_round
        for stream in (lava_x, ours_x, lava_syn, ours_syn):
            stream.advance()


class _ApplierArgsOperands:
    """The engine's operand interface over Lava's applier arguments (one instance)."""

    _SYNAPTIC = {"w": "weights", "d": "tag_2", "t": "tag_1"}

    def __init__(self, args):
        self.args = args

    def dependency(self, name):
        return self.args["u"] if name == "u" else self.args[name][None]

    def factor(self, factor, dependency):
        if factor.var in ("x0", "y0"):
            raw = self.args[factor.var][None].astype(np.int32)
        elif factor.var in self._SYNAPTIC:
            raw = self.args[self._SYNAPTIC[factor.var]][None]
        else:
            raw = self.args[f"{factor.var}_{dependency}"][None]
        return rule_eval.saturate_factor(raw, factor)


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


@pytest.mark.parametrize("rule_str", RULES_FOR_APPLIER)
def test_accumulator_equals_lavas_bit_approximate_applier(rule_str):
    rng = np.random.default_rng(zlib.crc32(rule_str.encode()))
    n_post, n_pre = 7, 9
    rule = Loihi3FLearningRule(dw=rule_str)
    (plan,) = rule_eval.compile_rules(rule)
    args = {"shape": (n_post, n_pre), "u": 1,
            "x0": rng.random((1, n_pre)) < 0.5, "y0": rng.random((n_post, 1)) < 0.5}
    for var in ("weights", "tag_1", "tag_2"):
        args[var] = rng.integers(-300, 300, (n_post, n_pre))
    pre_shape, post_shape, full = (1, n_pre), (n_post, 1), (n_post, n_pre)
    for trace in ("x1", "x2", "y1", "y2", "y3"):
        pre = trace[0] == "x"
        args[f"{trace}_u"] = rng.integers(-300, 300, pre_shape if pre else post_shape)
        args[f"{trace}_x0"] = rng.integers(-300, 300, pre_shape if pre else full)
        args[f"{trace}_y0"] = rng.integers(-300, 300, full if pre else post_shape)
    operands = _ApplierArgsOperands(args)
    for w_before in (args["weights"], np.clip(args["weights"], -256, 255)):
        args["weights"] = w_before
        expected = LearningRuleApplierBitApprox(rule.dw).apply(w_before << 7, **args)
        np.testing.assert_array_equal(
            rule_eval.accumulate(plan, w_before[None], operands)[0], expected)


def test_engine_is_faster_than_lava():
    """Same 100x100 e-prop synapse, 200 steps; prints steps/s (no timing assertion)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import LearningDense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    steps, n = 200, 100
    sc = SCENARIOS["eprop_3f"]
    rng = np.random.default_rng(5)
    weights = rng.integers(-100, 100, (n, n))
    s_in = (rng.random((steps + 5, n)) < 0.1).astype(int)
    bap = (rng.random((steps + 5, n)) < 0.1).astype(int)
    y = [rng.integers(0, 128, (steps + 5, n)) for _ in range(3)]

    dense = LearningDense(weights=weights, learning_rule=sc.rule(1))
    for values, port in zip([s_in, bap] + y, [dense.s_in, dense.s_in_bap, dense.s_in_y1,
                                              dense.s_in_y2, dense.s_in_y3]):
        Source(data=values.T.astype(np.int32)).s_out.connect(port)
    dense.a_out.connect(Sink(shape=(n,), buffer=1).a_in)
    try:
        dense.run(condition=RunSteps(num_steps=5), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        start = time.perf_counter()
        dense.run(condition=RunSteps(num_steps=steps),
                  run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        lava_rate = steps / (time.perf_counter() - start)
    finally:
        dense.stop()

    rates = {}
    for n_instances in (1, 32):
        engine = LearningDenseEngine(weights=weights, learning_rule=sc.rule(1),
                                     n_instances=n_instances)
        start = time.perf_counter()
        for k in range(steps):
            engine.step(s_in[k], bap[k], y[0][k], y[1][k], y[2][k])
        rates[n_instances] = steps / (time.perf_counter() - start)
    print(f"\nLearningDense 100x100, 3-factor rule: Lava {lava_rate:.0f} steps/s; "
          f"engine x1 {rates[1]:.0f} steps/s ({rates[1] / lava_rate:.1f}x); "
          f"engine x32 {rates[32]:.0f} steps/s = {32 * rates[32]:.0f} instance-steps/s "
          f"({32 * rates[32] / lava_rate:.1f}x)")
