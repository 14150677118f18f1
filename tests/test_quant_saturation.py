"""Saturation counts of the fixed-point state (lava_eprop.quant.saturation)."""
import warnings
from types import SimpleNamespace

import numpy as np

from compilers import compile_plan
from lava_eprop.config import from_dict
from lava_eprop.engine.spec import network_spec
from lava_eprop.quant.models import fixed_trial
from lava_eprop.quant.saturation import SaturationWatch
from lava_eprop.reference.params import init_weights
from lava_eprop.tasks import make_task


def _run(input_rate_hz, fixed_point, learning_rate=0.01, steps=200):
    """One learning trial of a 12-neuron pattern-generation network; counts and spikes."""
    cfg = from_dict({"task": {"name": "pattern-generation", "n_in": 20, "n_steps": steps,
                              "input_rate_hz": input_rate_hz},
                     "network": {"n_rec": 12, "w_in_scale": 1.0},
                     "training": {"learning_rate": learning_rate}, "fixed_point": fixed_point})
    task = make_task(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(cfg)
    w = init_weights(cfg, task.n_in, task.n_out, np.random.default_rng(0))
    spec = network_spec(cfg, plan, w, task.n_in, task.n_out, False)
    batch = task.sample(1, np.random.default_rng(1))
    watch = SaturationWatch()
    weights = {k: p.weights for k, p in spec.projections.items()}
    trial = fixed_trial(spec, weights, batch.inputs[0], batch.targets[0], batch.mask[0], 0, watch)
    return watch, trial


def test_inputs_far_above_the_rate_x1_was_sized_for_saturate_the_input_trace():
    """x1's impulse is sized for 10 Hz; at 400 Hz the 7-bit trace hits 127."""
    watch, _ = _run(400.0, {"input_rate_hz": 10.0})
    assert watch.totals["input->lif.x1"] > 0


def test_a_network_within_its_design_point_saturates_nothing():
    """Inputs at their design rate, a trace headroom of 16 and a small learning rate (the
    tag's products stay within the accumulator): no clip, no wrap."""
    watch, trial = _run(20.0, {"headroom": 16.0}, learning_rate=0.001)
    assert trial.z.sum() > 0                   # it spikes, so the traces move
    assert sum(watch.totals.values()) == 0
    assert {"input->lif.x1", "lif.v", "lif.y3", "error.e"} <= set(watch.totals)


def test_the_watch_sums_the_engines_counters_over_runs():
    watch = SaturationWatch()
    for counters in ({"input->lif.x1": 7, "lif.y3": 0}, {"input->lif.x1": 1, "lif.y3": 2}):
        watch.end_run(SimpleNamespace(counters=counters))
    assert watch.totals == {"input->lif.x1": 8, "lif.y3": 2}
