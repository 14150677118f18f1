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

import numpy as np
import pytest
from dense_scenarios import COMPARED, RULES_FOR_APPLIER, SCENARIOS, dense_problem, run_engine_steps
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.learning.learning_rule_applier import LearningRuleApplierBitApprox
from lava.magma.core.learning.random import ConnVarRandom, TraceRandom
from lava_helpers import run_lava_learning_dense

from lava_eprop.engine import LearningDenseEngine
from lava_eprop.engine import rule_eval
from lava_eprop.engine.randoms import TraceRandomStreams, synaptic_variable_stream


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
    weights, kwargs, inputs = dense_problem(name, steps, seed)
    s_in, bap, y = inputs
    lava = run_lava_learning_dense(weights=weights, learning_rule=sc.rule(rng_seed),
                                   s_in=s_in, s_in_bap=bap, y=y,
                                   stochastic=rounding == "stochastic", **kwargs)
    for fused in (True, False):  # the compiled kernel and the NumPy specification
        engine = LearningDenseEngine(weights=weights, learning_rule=sc.rule(rng_seed),
                                     fused=fused, rounding=rounding, **kwargs)
        assert engine.fused == fused
        _assert_same_every_step(run_engine_steps(engine, inputs), lava)
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
    weights, kwargs, inputs = dense_problem("eprop_3f", 150)
    engine = LearningDenseEngine(weights=weights, learning_rule=SCENARIOS["eprop_3f"].rule(11),
                                 **kwargs)
    t = run_engine_steps(engine, inputs)["tag_1"][0]
    assert (np.diff(t, axis=0) > 0).any() and (np.diff(t, axis=0) < 0).any()
    assert np.abs(t[-1]).max() < 255


@pytest.mark.parametrize("rounding", ["lava", "stochastic"])
def test_instances_equal_separate_single_instance_runs(rounding):
    """Instance i of a 4-instance engine is a single-instance run with rng_seed_i."""
    n, steps, seeds = 4, 120, [11, 12, 13, 11]
    sc = SCENARIOS["uk_epoch_3f"]
    weights, kwargs, inputs = dense_problem("uk_epoch_3f", steps, seed=3, n_instances=n)
    kwargs["tag_1"] = np.random.default_rng(4).integers(-100, 100, weights.shape)
    s_in, bap, y = inputs
    batched = run_engine_steps(LearningDenseEngine(weights=weights, learning_rule=sc.rule(11),
                                              n_instances=n, rng_seeds=seeds, rounding=rounding,
                                              **kwargs), inputs)
    for i, seed in enumerate(seeds):
        own = {k: v[i] if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        single = LearningDenseEngine(weights=weights[i], learning_rule=sc.rule(seed),
                                     rounding=rounding, **own)
        alone = run_engine_steps(single, (s_in[:, i], bap[:, i], tuple(v[:, i] for v in y)))
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
