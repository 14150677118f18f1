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
from engine_scenarios import (
    RECORD,
    assert_same_records,
    assert_same_state,
    run_step_by_step,
    run_steps,
    scenario_data,
)

from lava_eprop.engine.network import FastNetwork

STEPS = 300  # crosses a 256-step chunk of the projections' random numbers
SCENARIOS = ("lif_symmetric", "lif_random", "alif_symmetric", "alif_random",
             "lif_alif_random")  # the last: two neuron groups (LIF and ALIF)


@pytest.mark.parametrize("name", SCENARIOS)
def test_run_equals_step_by_step(name):
    spec, data = scenario_data(name, STEPS + 60)
    compiled, stepped = FastNetwork(spec, 2, seed=3), FastNetwork(spec, 2, seed=3)
    got = run_steps(compiled, data, 0, STEPS)
    assert compiled._run_kernels, "the run was not compiled"
    want = run_step_by_step(stepped, data, 0, STEPS)
    assert_same_records(got, want)
    assert want["z"].sum() > 0 and (np.diff(want["readout_v"], axis=0) != 0).any()
    for proj in spec.projections:  # the projections learned
        assert not np.array_equal(compiled.dense[proj].weights,
                                  FastNetwork(spec, 2).dense[proj].weights), proj
    assert_same_state(compiled, stepped)
    # the state after: on with step(), then another compiled run
    assert_same_records(run_step_by_step(compiled, data, STEPS, STEPS + 20),
                        run_step_by_step(stepped, data, STEPS, STEPS + 20))
    assert_same_records(run_steps(compiled, data, STEPS + 20, STEPS + 60),
                        run_step_by_step(stepped, data, STEPS + 20, STEPS + 60))
    assert_same_state(compiled, stepped)


@pytest.mark.parametrize("name", ["lif_random", "lif_alif_random"])
def test_split_runs_equal_one_run(name):
    """Runs of 1, 150 and 149 steps (the first alone in Python, chunk boundaries
    inside runs) give one run's values and state; so does a run recording nothing."""
    spec, data = scenario_data(name, STEPS)
    whole, split, silent = (FastNetwork(spec, 2, seed=1) for _ in range(3))
    want = run_steps(whole, data, 0, STEPS)
    parts = [run_steps(split, data, a, b) for a, b in ((0, 1), (1, 151), (151, STEPS))]
    assert_same_records({k: np.concatenate([p[k] for p in parts]) for k in RECORD}, want)
    assert_same_state(split, whole)
    assert run_steps(silent, data, 0, STEPS, record=()) == {}
    assert_same_state(silent, whole)


def test_projection_names_fall_back_to_the_per_step_loop():
    """A projection's variables are recorded step by step, with the same values."""
    spec, data = scenario_data("lif_random", 40, n=1)
    names = ("z", "input->lif.weights", "recurrent->readout.tag_1")
    fallback, compiled = FastNetwork(spec), FastNetwork(spec)
    got = run_steps(fallback, data, 0, 40, record=names)
    assert not fallback._run_kernels
    assert got["input->lif.weights"].shape[:2] == (40, 1)
    assert np.array_equal(got["z"], run_steps(compiled, data, 0, 40, record=("z",))["z"])
    assert_same_state(fallback, compiled)


def test_run_passes_step_numbers_with_longer_learning_epochs():
    """With ``t_epoch = 3`` the projections learn on every third step only, and
    within-epoch spike times matter: a run handing the kernels a wrong step
    number would learn at other steps than step() does."""
    from dataclasses import replace
    spec, data = scenario_data("lif_alif_random", 100)
    spec = replace(spec, projections={
        name: replace(p, plan=replace(p.plan, t_epoch=3)) for name, p in spec.projections.items()})
    compiled, stepped = FastNetwork(spec, 2, seed=5), FastNetwork(spec, 2, seed=5)
    assert {d.t_epoch for d in compiled.dense.values()} == {3}
    got = run_steps(compiled, data, 0, 100)
    assert compiled._run_kernels, "the run was not compiled"
    assert_same_records(got, run_step_by_step(stepped, data, 0, 100))
    assert_same_state(compiled, stepped)
