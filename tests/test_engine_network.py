"""The fast engine network is bit-identical to the fixed-point e-prop Lava graph.

The Lava graph (:mod:`lava_eprop.lava_graph`: this package's neuron, readout
and error processes with their ``fixed_pt`` models, Lava's ``LearningDense``
with the compiled rules, in ``Loihi2SimCfg``) and
:class:`~lava_eprop.engine.network.FastNetwork` get the same inputs, targets
and masks; spikes, membranes, adaptation, third factors, readout, errors and
every projection's weights, tags (t, d) and x1 traces must be equal at every
step, with online learning on and the firing-rate regulariser in the neurons
(the presets' reg_coeff), with Lava's own ``LearningDense`` model
(``rounding: lava``) and with this package's stochastic model of it
(``rounding: stochastic``), 150 steps on every run and 1000 in the slow set.
Also: the recurrent neuron's sub-threshold
dynamics are Lava's own fixed-point LIF (``PyLifModelBitAcc``) bit for bit.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from engine_scenarios import ERROR_VARS, NEURON_VARS, SCENARIOS, recorded_vars, scenario_setup
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.source import RingBuffer
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor

from lava_eprop.engine import neurons
from lava_eprop.engine.network import FastNetwork
from lava_eprop.lava_graph import LavaGraph


def _compare(name: str, steps: int, seed: int = 0, rounding: str = "lava") -> dict:
    """The fast engine, compiled and interpreted (NumPy neurons), against the Lava graph."""
    spec, inputs, targets, mask = scenario_setup(name, steps, seed)
    spec = replace(spec, rounding=rounding)
    record = recorded_vars(spec)
    lava = LavaGraph(spec, inputs, targets, mask, seed=seed + 5).run(record=record)
    for fused in (True, False):
        fast = FastNetwork(spec, n_instances=1, seed=seed + 5, fused=fused)
        engine = fast.run(inputs[None], targets[None], mask[None], record=record)
        for var in record:
            got, want = engine[var][:, 0], lava[var].reshape(engine[var][:, 0].shape)
            if not np.array_equal(got, want):
                step = int(np.argmax([not np.array_equal(g, w) for g, w in zip(got, want)]))
                pytest.fail(f"{name} (fused={fused}): {var} differs first at step {step + 1}: "
                            f"engine {got[step].ravel()[:8]}, lava {want[step].ravel()[:8]}")
    return engine


def _assert_learning_happened(name: str, trace: dict) -> None:
    """The comparison means something: spikes, signals, tags and weight changes."""
    assert trace["z"].sum() > 0, "no spikes"
    assert (trace["y2"] > 0).any() and (trace["y3"] != neurons.Y_OFFSET).any()
    assert (trace["err_y3"] != neurons.Y_OFFSET).any()
    assert (np.diff(trace["f"], axis=0) != 0).any() and (trace["q"] != 0).any(), \
        "the regulariser's rate trace or residual never moved"
    projections = sorted({k.split(".")[0] for k in trace if "." in k})
    for proj in projections:
        w = trace[f"{proj}.weights"]
        assert not np.array_equal(w[0], w[-1]), f"{proj} weights did not learn"
        if proj != "recurrent->readout":
            assert (trace[f"{proj}.tag_1"] != 0).any()
    if "alif" in name:
        assert (trace["b"] > 0).any() and (trace["y1"] > 0).any()
        assert (trace["input->alif.tag_2"] != 0).any(), "ALIF eps (d) never moved"


@pytest.mark.parametrize("rounding", ["lava", "stochastic"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_fast_engine_equals_lava_graph_every_step(name, rounding):
    _assert_learning_happened(name, _compare(name, steps=150, rounding=rounding))


@pytest.mark.slow
@pytest.mark.parametrize("rounding", ["lava", "stochastic"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_fast_engine_equals_lava_graph_over_1000_steps(name, rounding):
    """1000 steps of online learning, every integer of the network compared each step."""
    _assert_learning_happened(name, _compare(name, steps=1000, seed=1, rounding=rounding))


@pytest.mark.parametrize("rounding", ["lava", "stochastic"])
def test_instances_equal_separate_single_instance_runs(rounding):
    """Instance i of a 3-instance engine reproduces a 1-instance run on its own data."""
    spec, _, _, _ = scenario_setup("lif_alif_random", 80)
    spec = replace(spec, rounding=rounding)
    data = [scenario_setup("lif_alif_random", 80, seed=s)[1:] for s in range(3)]
    stacked = [np.stack(parts) for parts in zip(*data)]
    record = recorded_vars(spec)
    together = FastNetwork(spec, n_instances=3).run(*stacked, record=record)
    for i, (x, t, m) in enumerate(data):
        alone = FastNetwork(spec).run(x[None], t[None], m[None], record=record)
        for var in record:
            assert np.array_equal(together[var][:, i], alone[var][:, 0]), var


@pytest.mark.parametrize("du", [4095, 300])
def test_recurrent_subthreshold_dynamics_equal_lava_lif(du):
    """Below threshold, rec_step's u and v are Lava's PyLifModelBitAcc's, bit for bit."""
    steps, n, dv, vth = 120, 6, 134, 100_000     # vth << 6 beyond the 24-bit range: no spike
    rng = np.random.default_rng(3)
    a_in = rng.integers(-600, 600, (steps, n))
    lif = LIF(shape=(n,), du=du, dv=dv, vth=vth, bias_mant=0)
    src = RingBuffer(data=a_in.T.astype(np.int32))
    src.s_out.connect(lif.a_in)
    mon_u, mon_v = Monitor(), Monitor()
    mon_u.probe(lif.u, steps)
    mon_v.probe(lif.v, steps)
    try:
        lif.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        lava_u = np.asarray(mon_u.get_data()[lif.name]["u"]).astype(np.int64)
        lava_v = np.asarray(mon_v.get_data()[lif.name]["v"]).astype(np.int64)
    finally:
        lif.stop()
    params = neurons.RecParams(du=du, dv=dv, vth=vth, n_ref=0, y2_mant=128, y2_shift=20,
                               l_shift=0)
    state = neurons.rec_initial((n,))
    for t in range(steps):
        state, out = neurons.rec_step(state, a_in[t], np.zeros(n), params)
        assert not out.z.any()    # |v| < vth << 6: the reset (the models' difference) never acts
        assert np.array_equal(state.u, lava_u[t]) and np.array_equal(state.v, lava_v[t]), t
    assert np.abs(lava_v).max() > 10_000     # the comparison exercised the decays


def test_error_kernel_regression_and_softmax_semantics():
    """e = 2^6 Lambda (y - y*) and y3 = 64 + round(Lambda err); softmax sums to ~2^16."""
    p = neurons.error_params(False, voltage_scale=8192.0, y3_per_signal=8.0)
    v = np.array([[int(0.5 * 8192 * 64)]])
    e, y3 = neurons.error_step(v, np.array([[int(0.25 * 8192 * 64)]]), np.array([1]), p)
    assert e.item() == 0.25 * 8 * 64 and y3.item() == 64 + 2
    pc = neurons.error_params(True, voltage_scale=8192.0, y3_per_signal=8.0)
    logits = np.array([[0.0, np.log(3.0)]]) * 8192 * 64
    pi = neurons.softmax_q16(logits.astype(np.int64), pc.logit_shift)
    assert abs(pi[0, 1] / 2 ** 16 - 0.75) < 2e-3 and abs(pi.sum() - 2 ** 16) <= 2
    e, y3 = neurons.error_step(logits.astype(np.int64), np.array([[0, 1]]), np.array([1]), pc)
    assert np.allclose(e / (64 * 8), [[0.25, -0.25]], atol=0.01)
    _, y3_masked = neurons.error_step(logits.astype(np.int64), np.array([[0, 1]]),
                                      np.array([0]), pc)
    assert (y3_masked == 64).all()


def test_float_models_track_the_fixed_point_graph():
    """The floating_pt models run in Lava and stay close to the integer network
    (no truncation; loose agreement over a short run)."""
    spec, inputs, targets, mask = scenario_setup("alif_random", 60)
    floats = LavaGraph(spec, inputs, targets, mask, fixed=False).run(record=("z", "readout_v"))
    ints = FastNetwork(spec).run(inputs[None], targets[None], mask[None])
    assert floats["z"].dtype == float
    assert (floats["z"] == ints["z"][:, 0]).mean() > 0.85
    assert np.corrcoef(floats["readout_v"].ravel(), ints["readout_v"][:, 0].ravel())[0, 1] > 0.9


@pytest.mark.parametrize("name", ["lif_random", "alif_symmetric", "lif_alif_random"])
def test_frozen_fast_engine_equals_lava_graph_with_dense(name):
    """``FastNetwork(learn=False)`` is ``LavaGraph(learn=False)`` (plain ``Dense``) bit for bit
    at every step, with the error unmasked (so the neurons' y3 moves): weights never change."""
    spec, inputs, targets, mask = scenario_setup(name, 120)
    record = NEURON_VARS + ERROR_VARS + tuple(f"{p}.weights" for p in spec.projections)
    lava = LavaGraph(spec, inputs, targets, mask, learn=False).run(record=record)
    for fused in (True, False):
        fast = FastNetwork(spec, learn=False, fused=fused).run(inputs[None], targets[None],
                                                               mask[None], record=record)
        for var in record:
            got, want = fast[var][:, 0], lava[var].reshape(fast[var][:, 0].shape)
            assert np.array_equal(got, want), f"{var} (fused={fused}) differs first at step " \
                f"{np.argmax([not np.array_equal(g, w) for g, w in zip(got, want)]) + 1}"
    assert fast["z"].sum() > 0 and (fast["y3"] != neurons.Y_OFFSET).any()
    for p in spec.projections:
        w = fast[f"{p}.weights"]
        assert (w == w[0]).all() and np.array_equal(w[0, 0], spec.projections[p].weights & ~1)
