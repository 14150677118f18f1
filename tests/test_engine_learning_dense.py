"""The fast engine's LearningDense is bit-identical to Lava's fixed-point LearningDense.

Lava 0.10.0 (``Loihi2SimCfg(select_tag="fixed_pt")``, i.e.
``PyLearningDenseModelBitApproximate``) and :class:`LearningDenseEngine` get
identical pre spikes, post spikes (bap) and third factors y1..y3; a_out,
weights, tags t (tag_1) and d (tag_2) and traces x1, x2, y1, y2, y3 must be
equal at every step, with the kernels compiled and interpreted.
The same holds for the stochastic model: this package's second CPU model of
``LearningDense`` (:mod:`process_models.learning_dense.models`) against the
engine with ``rounding="stochastic"``.
"""
from __future__ import annotations

import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from dense_scenarios import COMPARED, RULES_FOR_APPLIER, SCENARIOS, dense_problem, run_engine_steps
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
from lava.magma.core.learning.learning_rule_applier import LearningRuleApplierBitApprox
from lava.magma.core.learning.random import ConnVarRandom, TraceRandom
from lava.magma.core.model.py.connection import LearningConnectionModelBitApproximate
from lava.utils.weightutils import SignMode
from lava_helpers import run_lava_learning_dense

from lava_eprop.engine import LearningDenseEngine
from lava_eprop.engine import fused, rule_codegen, rule_eval
from lava_eprop.engine.randoms import TraceRandomStreams, synaptic_variable_stream
from lava_eprop.loihi.constants import as_sign_mode


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
    for compiled in (True, False):  # the kernels compiled and interpreted
        engine = LearningDenseEngine(weights=weights, learning_rule=sc.rule(rng_seed),
                                     fused=compiled, rounding=rounding, **kwargs)
        assert engine.fused == compiled
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
    """The numbers in use after each of 9000 advances, drawn in chunks of several
    sizes (one call for many draws equals one call per draw), two instances."""
    lava_x, lava_syn = TraceRandom(seed, seed + 1), ConnVarRandom()
    expected = {"decay": [], "impulse": [], "synaptic": []}
    for _ in range(9000):
        for stream in (lava_x, lava_syn):
            stream.advance()
        expected["decay"].append(lava_x.random_trace_decay)
        expected["impulse"].append(lava_x.random_impulse_addition)
        expected["synaptic"].append(lava_syn.random_stochastic_round)
    ours_x = TraceRandomStreams([seed, seed], [seed + 1, seed + 1])
    streams = {"decay": ours_x.decay, "impulse": ours_x.impulse,
               "synaptic": synaptic_variable_stream(2)}
    for name, stream in streams.items():
        got = np.concatenate([stream.take(k) for k in (1, 4094, 0, 1, 2, 4902)], axis=1)
        assert got.shape == (2, 9000)
        np.testing.assert_array_equal(got[1], expected[name], err_msg=name)
        np.testing.assert_array_equal(got[0], got[1], err_msg=name)


def _lava_epoch_end(rule, state: dict, xh, yh, tx, ty, random: float) -> np.ndarray:
    """Lava's own ``_apply_learning_rules`` (``LearningConnectionModelBitApproximate``,
    Lava 0.10.0) on one instance's histories, spike steps and synaptic variables:
    its applier, accumulator saturation, stochastic rounding and 9-bit saturation.
    Returns the new weights."""
    model = LearningConnectionModelBitApproximate.__new__(LearningConnectionModelBitApproximate)
    model._learning_rule, model.sign_mode, model.time_step = rule, SignMode.MIXED, rule.t_epoch
    model._shape = state["weights"].shape
    model.x0, model.y0, model.tx, model.ty = tx > 0, ty > 0, tx, ty
    for name, values in state.items():
        setattr(model, name, values.copy())
    model._learning_rule_appliers = {"weights": LearningRuleApplierBitApprox(rule.dw)}
    model._conn_var_random = SimpleNamespace(random_stochastic_round=random)
    model._apply_learning_rules(xh, yh)
    return model.weights


@pytest.mark.parametrize("rule_str", RULES_FOR_APPLIER)
def test_synapse_update_equals_lavas_bit_approximate_applier(rule_str):
    """The generated synapse update (interpreted) on random histories, spike steps
    and synaptic variables outside the 7-bit trace and 9-bit factor ranges, so
    that every factor saturation acts, gives the weights Lava's own epoch-end
    arithmetic gives on the same values, for several stochastic-rounding numbers."""
    rng = np.random.default_rng(zlib.crc32(rule_str.encode()))
    n_post, n_pre, t_epoch = 7, 9, 5
    rule = Loihi3FLearningRule(dw=rule_str, t_epoch=t_epoch)
    plans = rule_eval.compile_rules(rule)
    rules, products, factors = fused.encode_rules(plans, as_sign_mode(SignMode.MIXED))
    update = rule_codegen.connection_module(rules, products, factors, interpreted=True).update
    state = {name: rng.integers(-700, 700, (n_post, n_pre))
             for name in ("weights", "tag_1", "tag_2")}
    xh = rng.integers(-300, 300, (t_epoch + 1, 2, n_pre))
    yh = rng.integers(-300, 300, (t_epoch + 1, 3, n_post))
    tx, ty = rng.integers(0, t_epoch + 1, n_pre), rng.integers(0, t_epoch + 1, n_post)
    pre = np.zeros((1, len(products), n_pre), np.int64)
    post = np.zeros((1, len(products), n_post), np.int64)
    fused._neuron_parts(pre[0], tx, xh, fused.DEP_X0, factors, products, fused.PRE_SIDE, 1,
                        t_epoch)
    fused._neuron_parts(post[0], ty, yh, fused.DEP_Y0, factors, products, fused.POST_SIDE, 1,
                        t_epoch)
    for random in (0.0, 0.37, 0.999):
        w, t1, t2 = (np.array(state[name][None], np.int32)
                     for name in ("weights", "tag_1", "tag_2"))
        with np.errstate(over="ignore"):
            update(w, t1, t2, pre, post, xh[None], yh[None], tx[None].copy(), ty[None].copy(),
                   np.zeros((1, n_post), bool), np.array([[np.floor(random * 2 ** 7)]], np.int64),
                   np.zeros(len(fused.COUNTERS), np.int64), t_epoch, np.zeros(1, np.int64))
        expected = _lava_epoch_end(rule, state, xh, yh, tx, ty, random)
        np.testing.assert_array_equal(w[0], expected)
