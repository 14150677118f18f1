"""The compiled neuron kernels equal the NumPy specification, state and counters.

:class:`FastNetwork` with ``fused=True`` (neurons by
:mod:`lava_eprop.engine.neurons_fused`, projections by the compiled
``LearningDense``) against ``fused=False`` (:mod:`lava_eprop.engine.neurons`
and the same ``LearningDense`` kernels interpreted, both checked against Lava in
``test_engine_network.py``): every neuron, readout and error variable and
every projection's state, at every step, for several instances with their
own data, LIF, ALIF and mixed groups, regression and classification, the
firing-rate regulariser on; and the same saturation and wrap counts, also
on a network driven into 24-bit wrap and saturation.
"""
from __future__ import annotations

import numpy as np
import pytest
from engine_scenarios import SCENARIOS, recorded_vars, scenario_setup

from lava_eprop.engine.network import FastNetwork

N_INSTANCES = 3


def _both_paths(spec, data, steps):
    """Record everything from both paths; return the two traces and the two networks."""
    x, t, m = (np.stack(parts) for parts in zip(*data))
    record = recorded_vars(spec)
    nets = [FastNetwork(spec, n_instances=N_INSTANCES, seed=4, fused=f) for f in (True, False)]
    return [net.run(x, t, m, record=record) for net in nets], nets


def _assert_equal(traces, nets):
    compiled, numpy_path = traces
    for var in compiled:
        differs = np.flatnonzero([not np.array_equal(a, b)
                                  for a, b in zip(compiled[var], numpy_path[var])])
        assert differs.size == 0, f"{var} first differs at step {differs[0] + 1}"
    assert nets[0].counters == nets[1].counters


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_compiled_neurons_equal_numpy_path(name):
    steps = 300
    spec = scenario_setup(name, steps)[0]
    data = [scenario_setup(name, steps, seed=s)[1:] for s in range(N_INSTANCES)]
    traces, nets = _both_paths(spec, data, steps)
    _assert_equal(traces, nets)
    compiled = traces[0]
    assert compiled["z"].any() and (np.diff(compiled["q"], axis=0) != 0).any()
    assert (compiled["e"] != 0).any() and (compiled["y2"] > 0).any()


@pytest.mark.parametrize("name", ["lif_random", "lif_alif_random"])
def test_compiled_neurons_count_wraps_and_saturations_as_numpy_path(name):
    """Input and recurrent weights scaled by 2^12 push u past its 24-bit wrap and v into
    saturation."""
    steps = 120
    spec = scenario_setup(name, steps)[0]
    big = {k: p.weights * (1 if k == "recurrent->readout" else 2 ** 12)
           for k, p in spec.projections.items()}
    spec = spec.with_weights(big)
    data = [scenario_setup(name, steps, seed=s)[1:] for s in range(N_INSTANCES)]
    traces, nets = _both_paths(spec, data, steps)
    _assert_equal(traces, nets)
    counts = nets[0].counters
    groups = [g.name for g in spec.groups]
    assert sum(counts[f"{g}.u"] for g in groups) > 0
    assert sum(counts[f"{g}.v"] for g in groups) > 0


@pytest.mark.parametrize("name", ["lif_symmetric", "lif_random"])
def test_compiled_neurons_count_signal_clips_as_numpy_path(name):
    """Regression targets scaled by 2^10 put the readout far from them: the error
    payload hits its 16-bit clip, the readout's y3 its 7-bit clip, and B e pushes the
    neurons' y3 to 0 or 127. Both paths count the same events."""
    steps = 120
    spec = scenario_setup(name, steps)[0]
    data = [(x, t * 2 ** 10, m) for x, t, m in
            (scenario_setup(name, steps, seed=s)[1:] for s in range(N_INSTANCES))]
    traces, nets = _both_paths(spec, data, steps)
    _assert_equal(traces, nets)
    counts = nets[0].counters
    assert counts["error.e"] > 0 and counts["error.y3"] > 0
    assert sum(counts[f"{g.name}.y3"] for g in spec.groups) > 0
