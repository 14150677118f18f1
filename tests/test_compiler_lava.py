"""Lava's own fixed-point LearningDense applies the updates the plan predicts.

A tiny network per projection: RingBuffer sources drive the presynaptic spikes
and the third factors y1, y2, y3 of one ``LearningDense`` that carries the
compiled ``Loihi3FLearningRule`` (``Loihi2SimCfg(select_tag='fixed_pt')``,
i.e. Lava's bit-approximate model). Every step, the change Lava applies to
each weight, tag and delay is compared with e-prop's float update written in
the plan's units (the test derives it from the documented meaning of the
plan's fields, not from the compiler's code):

    psi = y2 / y2_per_psi     L = (y3 - 64) / y3_per_signal   zbar = x1 / x1_impulse
    ebar = t / tag_per_unit   eps = d / delay_per_unit        q = y1 / y1_per_leak
    dW    = -eta L ebar                                   (w = weight_per_unit W)
    debar = (kappa - 1) ebar + s_out (1 + e_eta) psi (s_in zbar - beta eps)
    deps  = psi s_in zbar - q eps

with the realised kappa, beta and learning-rate error e_eta the plan reports.
The bound per step and variable: Lava floors each right-shifted product
(less than 2^e each, e the product's scale exponent), stochastically rounds
the sum (less than 1), and decays the received y values with tau = 65535
before use (a y may act as y - 1); nothing else may differ.
"""
import math
import warnings

import numpy as np
import pytest
from lava.magma.core.learning.constants import FACTOR_TO_WIDTH_DICT
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import LearningDense
from lava.proc.io.source import RingBuffer

from compilers.compile import compile_plan
from lava_eprop.config import from_dict

STEPS = 14
CFG = {"task": {"name": "pattern-generation", "n_in": 3, "n_out": 2, "input_rate_hz": 150.0},
       "network": {"n_rec": 4, "neuron": "alif", "n_adaptive": 2, "tau_a": 200.0,
                   "v_th": 0.5, "w_in_scale": 0.5},
       "training": {"reg_rate_hz": 150.0}, "fixed_point": {"learning_rate": 0.2}}


@pytest.fixture(scope="module")
def compiled():
    cfg = from_dict(CFG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cfg, compile_plan(cfg)


def run_lava(proj, rule, sources, w0):
    """Run the LearningDense one step at a time; record x1, w, t, d after each step."""
    conn = LearningDense(weights=w0, learning_rule=rule, weight_exp=proj.weight_exp)
    for port, data in sources.items():
        RingBuffer(data=data).s_out.connect(getattr(conn, port))
    record = []
    try:
        for _ in range(STEPS):
            conn.run(condition=RunSteps(num_steps=1), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            record.append([np.array(v.get(), dtype=float)
                           for v in (conn.x1, conn.weights, conn.tag_1, conn.tag_2)])
    finally:
        conn.stop()
    return record


def floor_bound(product_series):
    """Sum of 2^e over the products Lava right-shifts (from Lava's own parse)."""
    if product_series is None:
        return 0.0
    bound = 0.0
    for p in product_series.products:
        widths = sum(FACTOR_TO_WIDTH_DICT[f.state_var] for f in p.factors)
        if widths + 4 - 15 > 0:
            bound += 2.0 ** (p.s_exp - 7)
    return bound


def floats(cfg):
    net = cfg.network
    alpha, kappa = math.exp(-net.dt / net.tau_m), math.exp(-net.dt / net.tau_out)
    return (1 - alpha if net.input_scaling else 1.0), (1 - kappa if net.readout_scaling else 1.0)


def predict(cfg, plan, proj, x1, y, w, t, d):
    """Float e-prop update of one step in integer units: (dw, dt, dd)."""
    s_in, s_out = floats(cfg)
    group = plan.group(proj.post)
    err = plan.approximation(f"{proj.name}: learning rate").relative_error
    eta = cfg.fixed_point.learning_rate or cfg.training.learning_rate
    zbar = x1[None, :] / proj.x1_impulse
    signal = (y["y3"][:, None] - 64) / group.y3_per_signal
    if proj.post == "readout":
        return -eta * (1 + err) * signal * s_out * zbar * proj.weight_per_unit, 0.0, 0.0
    psi = y["y2"][:, None] / group.y2_per_psi
    ebar = t / proj.tag_per_unit
    d_w = -eta * signal * ebar * proj.weight_per_unit
    kappa = plan.approximation("tag: kappa").realised
    if proj.delay_per_unit is None:
        drive, d_d = s_in * zbar, 0.0
    else:
        beta = plan.approximation(f"{proj.name}: beta (eligibility)").realised
        eps = d / proj.delay_per_unit
        drive = s_in * zbar - beta * eps
        q = y["y1"][:, None] / group.alif.y1_per_leak
        d_d = (psi * s_in * zbar - q * eps) * proj.delay_per_unit
    d_t = ((kappa - 1) * ebar + s_out * (1 + err) * psi * drive) * proj.tag_per_unit
    return d_w, d_t, d_d


def third_factors(plan, proj, rng):
    group = plan.group(proj.post)
    n = proj.shape[0]
    y = {"y3": rng.integers(64 - 40, 64 + 41, (n, STEPS))}
    if proj.post != "readout":
        y2_max = group.y2_mant * (group.vth << 6) // 2 ** group.y2_shift
        y["y2"] = rng.integers(y2_max // 2, y2_max + 1, (n, STEPS))
    if group.alif is not None and group.alif.y1_per_leak is not None:
        y["y1"] = np.clip(group.alif.y1_leak + np.round(group.alif.y1_per_y2 * y["y2"]), 0, 127)
    return y


@pytest.mark.parametrize("name", ["input->lif", "recurrent->alif", "recurrent->readout"])
def test_lava_learning_dense_applies_the_planned_updates_within_rounding(compiled, name):
    cfg, plan = compiled
    proj = plan.projection(name)
    rng = np.random.default_rng(7)
    n_post, n_pre = proj.shape
    spikes = (rng.random((n_pre, STEPS)) < 0.25).astype(int)
    y = third_factors(plan, proj, rng)
    w0 = 2 * rng.integers(-40, 40, (n_post, n_pre))
    rule = proj.learning_rule(rng_seed=1)
    sources = {"s_in": spikes, **{f"s_in_{k}": v.astype(int) for k, v in y.items()}}
    record = run_lava(proj, rule, sources, w0)

    bounds = [floor_bound(rule.dw) + 1, floor_bound(rule.dt) + 1, floor_bound(rule.dd) + 1]
    prev = [np.zeros(n_pre), w0.astype(float), np.zeros((n_post, n_pre)),
            np.zeros((n_post, n_pre))]
    decay = math.exp(-1.0 / proj.x1_tau)
    moved = np.zeros(3)
    for k, now in enumerate(record):
        x1 = now[0]
        assert x1.max() < 127, "the test must stay clear of x1 saturation"
        np.testing.assert_array_less(np.abs(x1 - decay * prev[0] - proj.x1_impulse
                                            * spikes[:, k]), 1.0)
        y_k = {key: v[:, k] for key, v in y.items()}
        expected = predict(cfg, plan, proj, x1, y_k, *prev[1:])
        slack = [np.zeros((n_post, n_pre)) for _ in range(3)]
        for key, value in y_k.items():   # a received y may be used as y - 1
            lower = predict(cfg, plan, proj, x1, {**y_k, key: value - 1}, *prev[1:])
            slack = [s + np.abs(np.asarray(a) - np.asarray(b))
                     for s, a, b in zip(slack, expected, lower)]
        for i in range(3):
            change = now[i + 1] - prev[i + 1]
            assert np.all(np.abs(change - expected[i]) <= bounds[i] + slack[i] + 1e-9), \
                (name, k, i, change, expected[i], bounds[i])
            moved[i] += np.abs(change).sum()
        prev = now
    assert moved[0] > 0, "the weights must actually learn in this test"
    if proj.tag_per_unit is not None:
        assert moved[1] > 0
    if proj.delay_per_unit is not None:
        assert moved[2] > 0
