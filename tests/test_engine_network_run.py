"""A compiled FastNetwork.run (one numba call per run) equals FastNetwork.step, step by step.

:meth:`FastNetwork.run` executes a whole run in one generated call
(:mod:`lava_eprop.engine.network_codegen`) when what is recorded allows it;
the expected values here come from :meth:`FastNetwork.step` and
:meth:`FastNetwork.observe`, the per-step path that
``tests/test_engine_network.py`` proves equal to the Lava graph. Compared:
every recorded neuron, readout and error value at every step, every
projection's state (weights, tags, traces, spike times, ``a_buff``, time
step) and every counter at the end, and the state after, by running on with
:meth:`step` and another run.
"""
from __future__ import annotations

import numpy as np
import pytest
from test_engine_network import ERROR_VARS, NEURON_VARS, _setup

from lava_eprop.engine import fused
from lava_eprop.engine.network import FastNetwork

pytestmark = pytest.mark.skipif(not fused.AVAILABLE, reason="the compiled run needs numba")

RECORD = NEURON_VARS + ERROR_VARS
STEPS = 300  # crosses a 256-step chunk of the projections' random numbers
SCENARIOS = ("lif_symmetric", "lif_random", "alif_symmetric", "alif_random",
             "lif_alif_random")  # the last: two neuron groups (LIF and ALIF)


def _data(name: str, steps: int, n: int = 2):
    """The scenario's spec and ``n`` instances' own data, step-major [T, I, ...]."""
    spec, *_ = _setup(name, steps)
    parts = [_setup(name, steps, seed=s)[1:] for s in range(n)]
    return spec, [np.stack(p) for p in zip(*parts)]


def _step_major(arrays, start=0, stop=None):
    return [np.array(np.moveaxis(a[:, start:stop], 1, 0), np.int64, order="C")
            for a in arrays]


def _stepped(net: FastNetwork, data, start: int, stop: int) -> dict:
    """The per-step path over steps ``start .. stop - 1``: what is observed every step."""
    x, t, m = _step_major(data, start, stop)
    out = {name: [] for name in RECORD}
    for k in range(len(x)):
        net.step(x[k], t[k], m[k])
        for name, value in net.observe(RECORD).items():
            out[name].append(value)
    return {name: np.stack(values) for name, values in out.items()}


def _run(net: FastNetwork, data, start: int, stop: int, record=RECORD) -> dict:
    return net.run(*(a[:, start:stop] for a in data), record=record)


def _assert_same_state(a: FastNetwork, b: FastNetwork) -> None:
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


def _assert_same_records(got: dict, want: dict) -> None:
    for name, values in want.items():
        assert got[name].shape == values.shape, name
        if not np.array_equal(got[name], values):
            step = int(np.argmax([not np.array_equal(g, w)
                                  for g, w in zip(got[name], values)]))
            pytest.fail(f"{name} differs first at step {step + 1}")


@pytest.mark.parametrize("name", SCENARIOS)
def test_run_equals_step_by_step(name):
    spec, data = _data(name, STEPS + 60)
    compiled, stepped = FastNetwork(spec, 2, seed=3), FastNetwork(spec, 2, seed=3)
    got = _run(compiled, data, 0, STEPS)
    assert compiled._run_kernels, "the run was not compiled"
    want = _stepped(stepped, data, 0, STEPS)
    _assert_same_records(got, want)
    assert want["z"].sum() > 0 and (np.diff(want["readout_v"], axis=0) != 0).any()
    for proj in spec.projections:  # the projections learned
        assert not np.array_equal(compiled.dense[proj].weights,
                                  FastNetwork(spec, 2).dense[proj].weights), proj
    _assert_same_state(compiled, stepped)
    # the state after: on with step(), then another compiled run
    _assert_same_records(_stepped(compiled, data, STEPS, STEPS + 20),
                         _stepped(stepped, data, STEPS, STEPS + 20))
    _assert_same_records(_run(compiled, data, STEPS + 20, STEPS + 60),
                         _stepped(stepped, data, STEPS + 20, STEPS + 60))
    _assert_same_state(compiled, stepped)


@pytest.mark.parametrize("name", ["lif_random", "lif_alif_random"])
def test_split_runs_equal_one_run(name):
    """Runs of 1, 150 and 149 steps (the first alone in Python, chunk boundaries
    inside runs) give one run's values and state; so does a run recording nothing."""
    spec, data = _data(name, STEPS)
    whole, split, silent = (FastNetwork(spec, 2, seed=1) for _ in range(3))
    want = _run(whole, data, 0, STEPS)
    parts = [_run(split, data, a, b) for a, b in ((0, 1), (1, 151), (151, STEPS))]
    _assert_same_records({k: np.concatenate([p[k] for p in parts]) for k in RECORD}, want)
    _assert_same_state(split, whole)
    assert _run(silent, data, 0, STEPS, record=()) == {}
    _assert_same_state(silent, whole)


def test_projection_names_fall_back_to_the_per_step_loop():
    """A projection's variables are recorded step by step, with the same values."""
    spec, data = _data("lif_random", 40, n=1)
    names = ("z", "input->lif.weights", "recurrent->readout.tag_1")
    fallback, compiled = FastNetwork(spec), FastNetwork(spec)
    got = _run(fallback, data, 0, 40, record=names)
    assert not fallback._run_kernels
    assert got["input->lif.weights"].shape[:2] == (40, 1)
    assert np.array_equal(got["z"], _run(compiled, data, 0, 40, record=("z",))["z"])
    _assert_same_state(fallback, compiled)


def test_run_passes_step_numbers_with_longer_learning_epochs():
    """With ``t_epoch = 3`` the projections learn on every third step only, and
    within-epoch spike times matter: a run handing the kernels a wrong step
    number would learn at other steps than step() does."""
    from dataclasses import replace
    spec, data = _data("lif_alif_random", 100)
    spec = replace(spec, projections={
        name: replace(p, plan=replace(p.plan, t_epoch=3)) for name, p in spec.projections.items()})
    compiled, stepped = FastNetwork(spec, 2, seed=5), FastNetwork(spec, 2, seed=5)
    assert {d.t_epoch for d in compiled.dense.values()} == {3}
    got = _run(compiled, data, 0, 100)
    assert compiled._run_kernels, "the run was not compiled"
    _assert_same_records(got, _stepped(stepped, data, 0, 100))
    _assert_same_state(compiled, stepped)
