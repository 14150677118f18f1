"""Small networks of every neuron group and feedback, and running them (no Lava).

The scenarios are checked against the Lava graph in ``test_engine_network.py``;
``test_engine_network_run.py``, ``test_engine_neurons_fused.py`` and
``test_engine_rounding.py`` run them on the fast engine's paths.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from compilers import compile_plan
from lava_eprop.config import from_dict, preset_dict
from lava_eprop.engine.network import FastNetwork
from lava_eprop.engine.spec import network_spec
from lava_eprop.reference.params import init_weights

N_IN, N_REC = 12, 12
NEURON_VARS = ("z", "u", "v", "b", "r", "f", "q", "y1", "y2", "y3")
ERROR_VARS = ("readout_v", "e", "err_y3")
DENSE_VARS = ("weights", "tag_1", "tag_2", "x1")


def recorded_vars(spec) -> tuple:
    """Everything compared: neuron, readout and error values, every projection's state."""
    return NEURON_VARS + ERROR_VARS + tuple(f"{name}.{var}" for name in spec.projections
                                            for var in DENSE_VARS)


SCENARIOS = {
    # name: (preset, neuron, feedback, number of ALIF neurons)
    "lif_symmetric": ("pattern-generation", "lif", "symmetric", 0),
    "lif_random": ("pattern-generation", "lif", "random", 0),
    "alif_symmetric": ("evidence-accumulation", "alif", "symmetric", N_REC),
    "alif_random": ("evidence-accumulation", "alif", "random", N_REC),
    "lif_alif_random": ("evidence-accumulation", "alif", "random", N_REC // 2),
}


def scenario_setup(name: str, steps: int, seed: int = 0):
    """A small network of scenario ``name``, its integer spec and one trial's data."""
    preset, neuron, feedback, n_alif = SCENARIOS[name]
    raw = preset_dict(preset)
    raw["task"]["n_in"] = N_IN
    raw["network"].update(n_rec=N_REC, neuron=neuron)
    if neuron == "alif":
        raw["network"]["n_adaptive"] = n_alif
        raw["network"]["tau_a"] = 200.0   # visible adaptation within a short run
    raw["training"]["feedback"] = feedback
    cfg = from_dict(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(cfg)
    classification = preset != "pattern-generation"
    n_out = 2 if classification else 1
    rng = np.random.default_rng(seed)
    weights = init_weights(cfg, N_IN, n_out, rng)
    spec = network_spec(cfg, plan, weights, N_IN, n_out, classification, n_steps=steps)
    inputs = (rng.random((steps, N_IN)) < 0.15).astype(np.int64)
    if classification:
        targets = np.full(steps, rng.integers(2))
        mask = (np.arange(steps) >= steps // 3).astype(np.int64)
    else:
        targets = 0.5 * np.sin(np.arange(steps) * 2 * np.pi / 60)[:, None]
        mask = np.ones(steps, np.int64)
    return spec, inputs, spec.targets(targets, steps), mask


# ------------------------------------------------ running a scenario's network
#: what the per-step path observes every step
RECORD = NEURON_VARS + ERROR_VARS


def scenario_data(name: str, steps: int, n: int = 2):
    """The scenario's spec and ``n`` instances' own data, step-major [T, I, ...]."""
    spec, *_ = scenario_setup(name, steps)
    parts = [scenario_setup(name, steps, seed=s)[1:] for s in range(n)]
    return spec, [np.stack(p) for p in zip(*parts)]


def step_major(arrays, start=0, stop=None):
    """Instance-major [I, T, ...] arrays over steps ``start .. stop - 1``, step-major."""
    return [np.array(np.moveaxis(a[:, start:stop], 1, 0), np.int64, order="C")
            for a in arrays]


def run_step_by_step(net: FastNetwork, data, start: int, stop: int) -> dict:
    """The per-step path over steps ``start .. stop - 1``: what is observed every step."""
    x, t, m = step_major(data, start, stop)
    out = {name: [] for name in RECORD}
    for k in range(len(x)):
        net.step(x[k], t[k], m[k])
        for name, value in net.observe(RECORD).items():
            out[name].append(value)
    return {name: np.stack(values) for name, values in out.items()}


def run_steps(net: FastNetwork, data, start: int, stop: int, record=RECORD) -> dict:
    """One (compiled when it can be) run over steps ``start .. stop - 1``."""
    return net.run(*(a[:, start:stop] for a in data), record=record)


def assert_same_state(a: FastNetwork, b: FastNetwork) -> None:
    assert a.counters == b.counters
    for name in a.dense:
        da, db = a.dense[name], b.dense[name]
        sa, sb = da.snapshot(), db.snapshot()
        for var in sa:
            assert np.array_equal(sa[var], sb[var]), f"{name}.{var}"
        assert da._random_first == db._random_first and np.array_equal(da._random, db._random)
    for name, value in a.observe(RECORD).items():
        assert np.array_equal(value, b.observe([name])[name]), name
    assert np.array_equal(a.l_buff, b.l_buff)


def assert_same_records(got: dict, want: dict) -> None:
    for name, values in want.items():
        assert got[name].shape == values.shape, name
        if not np.array_equal(got[name], values):
            step = int(np.argmax([not np.array_equal(g, w)
                                  for g, w in zip(got[name], values)]))
            pytest.fail(f"{name} differs first at step {step + 1}")
