"""The twin (lava_eprop.quant.twin): the fixed-point network's dynamics in float64."""
import math
import warnings

import numpy as np
import pytest
from support import small_config

from compilers import compile_plan
from lava_eprop.engine import FastNetwork, neurons
from lava_eprop.engine.learning_dense import truncate_weights
from lava_eprop.engine.spec import network_spec
from lava_eprop.loihi.constants import SignMode
from lava_eprop.quant.twin import (
    Arith,
    TwinDense,
    TwinNetwork,
    TwinState,
    rec_step,
    twin_weights,
)
from lava_eprop.reference.params import init_weights

N_IN, N_OUT = 30, 2


def _spec(neuron, seed=0, learning_rate=None, reg_coeff=50.0, **network):
    """Spec and float weights of a 12-neuron network with the on-chip regulariser on."""
    cfg = small_config(neuron, **network).with_overrides(learning_rate=learning_rate,
                                                         reg_coeff=reg_coeff)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(cfg)
    w = init_weights(cfg, N_IN, N_OUT, np.random.default_rng(seed))
    return network_spec(cfg, plan, w, N_IN, N_OUT, False, n_steps=100), w


def _twin_run(spec, w, x, targets, mask, fixed_weights=None):
    """The chip-rounded twin, error masked, ``learn=False``; with ``fixed_weights``
    ({projection: [T, I, n_post, n_pre]}) it is given those weights after every step.
    Returns spikes, membranes and readout [T, I, ...]."""
    twin = TwinNetwork(spec, twin_weights(spec, w, Arith(chip=True)),
                       spec.feedback.astype(float), chip=True)
    z, v, ro = [], [], []
    for t in range(x.shape[1]):
        if fixed_weights is not None and t > 0:
            twin.set_weights({name: w_t[t - 1] for name, w_t in fixed_weights.items()})
        z.append(twin.step(x[:, t], targets[:, t], mask[:, t], learn=False))
        v.append(twin.membrane())
        ro.append(twin.readout_v)
    return {"z": np.stack(z), "v": np.stack(v), "readout_v": np.stack(ro)}


def _first_difference(got: dict, want: dict):
    """First step where any recorded array differs, or None."""
    differs = np.zeros(len(want["z"]), bool)
    for name, value in got.items():
        differs |= (value != want[name]).reshape(len(differs), -1).any(axis=1)
    return int(np.argmax(differs)) if differs.any() else None


@pytest.mark.parametrize("neuron", ["lif", "alif"])
def test_twin_with_chip_rounding_reproduces_fixed_point_run_while_holding_its_weights(neuron):
    """Error masked out, regulariser on: the fixed-point run's weights still change (the
    regulariser's term reaches y3). The chip-rounded twin equals it bit for bit up to
    the step after the first change, and over all 600 steps when it is given the run's
    weights after every step; on its own weights it drifts after the change."""
    spec, w = _spec(neuron, refractory_steps=3)
    assert spec.groups[-1].rec.reg_mant > 0            # the regulariser is on
    rng = np.random.default_rng(1)
    steps = 600
    x = (rng.random((1, steps, N_IN)) < 0.1).astype(np.int64)
    targets = spec.targets(rng.standard_normal((1, steps, N_OUT)), steps)
    mask = np.zeros((1, steps), np.int64)
    net = FastNetwork(spec, n_instances=1, seed=0)
    names = list(spec.projections)
    fixed = net.run(x, targets, mask, record=("z", "v", "readout_v",
                                               *(f"{name}.weights" for name in names)))
    weights = {name: fixed.pop(f"{name}.weights") for name in names}
    start = {name: truncate_weights(spec.projection(name).weights, SignMode.MIXED, 8)
             for name in names}
    changed = np.zeros(steps, bool)     # some weight differs from the start after step t
    for name in names:
        changed |= (weights[name] != start[name]).reshape(steps, -1).any(axis=1)
    assert changed.any() and not changed[:100].any()     # the test crosses the first change
    first_change = int(np.argmax(changed))
    assert first_change < steps - 100
    assert fixed["z"].sum() > 100         # the comparison is not between silent networks

    fed = _twin_run(spec, w, x, targets, mask, fixed_weights=weights)
    for name in fed:
        np.testing.assert_array_equal(fed[name], fixed[name])
    own = _twin_run(spec, w, x, targets, mask)
    drift = _first_difference(own, fixed)
    # the changed weights are used in the next step and arrive one step later
    assert drift is not None and drift > first_change + 1


def test_twin_neuron_with_chip_rounding_equals_the_integer_kernel():
    spec, _ = _spec("alif", refractory_steps=2)
    p = spec.groups[-1].rec
    assert p.beta_v > 0 and p.y1_mant > 0 and p.reg_mant > 0
    rng = np.random.default_rng(3)
    shape = (50, 40)
    s = neurons.RecState(u=rng.integers(-2 ** 22, 2 ** 22, shape),
                         v=rng.integers(-2 ** 19, 2 ** 19, shape) + p.vth * 64,
                         b=rng.integers(0, 2 ** 18, shape), z=rng.integers(0, 2, shape),
                         r=rng.integers(0, 3, shape), f=rng.integers(0, 2 ** 22, shape),
                         q=rng.integers(-2 ** 15, 2 ** 15, shape))
    a_in = rng.integers(-2 ** 12, 2 ** 12, shape)
    l_in = rng.integers(-2 ** 20, 2 ** 20, shape)
    want_state, want_out = neurons.rec_step(s, a_in, l_in, p)
    got_state, got_out = rec_step(TwinState(*(x.astype(float) for x in s)), a_in, l_in, p,
                                  Arith(chip=True))
    for name in neurons.RecState._fields:
        np.testing.assert_array_equal(getattr(got_state, name), getattr(want_state, name))
    for got, want in zip(got_out, want_out):
        np.testing.assert_array_equal(got, want)


def test_twin_dense_tag_and_weight_follow_the_hand_derived_recursion():
    """One presynaptic spike at step 1, constant y2 and y3 (Lava's semantics, t_epoch 1):
    ``x1[n] = X a^(n-1)``, ``t[n] = (1 - c_k) t[n-1] + c_t x1[n] y2'`` and
    ``w[n] = w[n-1] - c_w t[n-1] (y3' - 64)`` with ``y' = y exp(-1/65535)``, so
    ``t[n] = c_t X y2' sum_{m=1..n} a^(m-1) (1-c_k)^(n-m)``."""
    spec, _ = _spec("lif")
    proj = spec.projection("input->lif").plan
    rules = proj.products()
    (minus_c_w,) = [q.coefficient for q in rules["dw"]]      # coefficients carry the sign
    c_w = -minus_c_w
    c_t, minus_c_k = [q.coefficient for q in rules["dt"]]
    X, a = proj.x1_impulse, math.exp(-1.0 / proj.x1_tau)
    y2, y3 = 40.0, 74.0
    y2r, y3r = y2 * math.exp(-1 / 65535), y3 * math.exp(-1 / 65535)
    dense = TwinDense(np.full((1, 1, 1), 5.0), proj, Arith(chip=False))
    tags, weights = [0.0], [5.0]
    steps = 25
    for n in range(1, steps + 1):
        dense.step(np.array([[1.0 if n == 1 else 0.0]]), (0.0, np.array([[y2]]), np.array([[y3]])))
        tags.append(float(dense.t[0, 0, 0]))
        weights.append(float(dense.w[0, 0, 0]))
    for n in (1, 2, 10, steps):
        t_n = c_t * X * y2r * sum(a ** (m - 1) * (1 + minus_c_k) ** (n - m)
                                  for m in range(1, n + 1))
        assert tags[n] == pytest.approx(t_n, rel=1e-12)
    w_end = 5.0 - c_w * (y3r - 64) * sum(tags[:steps])
    assert weights[-1] == pytest.approx(w_end, rel=1e-12)
    assert c_w > 0 and weights[-1] < 5.0     # dw = -c_w t (y3-64): positive t, y3 > 64


def test_twin_dense_sends_last_steps_activation_scaled_by_the_weight_exponent():
    spec, _ = _spec("lif")
    proj = spec.projection("input->lif").plan
    w = np.array([[[3.0, -2.0]]])
    dense = TwinDense(w, proj, Arith(chip=False))
    first = dense.step(np.array([[1.0, 1.0]]), learn=False)
    second = dense.step(np.array([[0.0, 0.0]]), learn=False)
    assert first[0, 0] == 0.0
    assert second[0, 0] == pytest.approx(1.0 * 2.0 ** proj.weight_exp)


def test_twin_tags_track_fixed_point_tags_with_learning_on():
    """With learning on, Lava rounds x1 and every tag update stochastically, so the twin
    cannot be bit-exact; over 30 steps its float tags stay aligned with the integer ones
    (until a spike differs, which these settings avoid)."""
    spec, w = _spec("alif", learning_rate=0.01, w_in_scale=3.0)
    rng = np.random.default_rng(2)
    steps = 30
    x = (rng.random((1, steps, N_IN)) < 0.2).astype(np.int64)
    targets = spec.targets(rng.standard_normal((1, steps, N_OUT)), steps)
    mask = np.ones((1, steps), np.int64)
    net = FastNetwork(spec, n_instances=1, seed=0)
    twin = TwinNetwork(spec, twin_weights(spec, w, Arith(chip=True)),
                       spec.feedback.astype(float), chip=True)
    for t in range(steps):
        net.step(x[:, t], targets[:, t], mask[:, t])
        twin.step(x[:, t], targets[:, t].astype(float), mask[:, t])
    fixed_tag = net.dense["input->alif"].tag_1.astype(float).ravel()
    twin_tag = twin.dense["input->alif"].t.ravel()
    assert np.abs(fixed_tag).max() >= 10
    cos = fixed_tag @ twin_tag / (np.linalg.norm(fixed_tag) * np.linalg.norm(twin_tag))
    assert cos > 0.95
