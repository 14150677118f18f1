"""The fast engine's results do not depend on numba's thread count or on the other instances.

``FastNetwork.run`` runs instances in parallel (one thread per instance
chunk) with more than one thread; that must give the integers of the serial
loop. Each case runs in a subprocess, since numba's thread count is fixed
when its thread pool starts. The rest of the suite runs on one numba thread
(``conftest.py``), so this module is where the parallel run is checked: on a
network of two groups (LIF and ALIF) under the stochastic model.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest


N_INSTANCES, STEPS, N_IN, N_REC = 8, 40, 20, 24


def _network():
    from compilers import compile_plan
    from lava_eprop.config import from_dict, preset_dict
    from lava_eprop.engine.spec import network_spec
    from lava_eprop.reference.params import init_weights

    # two groups (LIF and ALIF: the run copies each group's spikes into the layer's)
    # and the stochastic model (each instance's rows of every per-instance argument)
    raw = preset_dict("evidence-accumulation")
    raw["task"]["n_in"] = N_IN
    raw["network"].update(n_rec=N_REC, n_adaptive=N_REC // 2, tau_a=200.0)
    raw.setdefault("fixed_point", {})["rounding"] = "stochastic"
    cfg = from_dict(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(cfg)
    rng = np.random.default_rng(5)
    spec = network_spec(cfg, plan, init_weights(cfg, N_IN, 2, rng), N_IN, 2, True,
                        n_steps=STEPS)
    inputs = (rng.random((N_INSTANCES, STEPS, N_IN)) < 0.2).astype(np.int64)
    targets = np.stack([spec.targets(np.full(STEPS, k % 2), STEPS) for k in range(N_INSTANCES)])
    return spec, inputs, targets


def _outcome(net, records: dict, k: int) -> dict:
    """Instance ``k``'s final synaptic state and records, as lists."""
    state = {f"{name}.{var}": getattr(d, var)[k].tolist() for name, d in net.dense.items()
             for var in ("weights", "tag_1", "x_traces", "y_traces")}
    return {**state, **{name: values[:, k].tolist() for name, values in records.items()}}


def _run() -> dict:
    """Every instance run together, and each alone, with their counters."""
    from lava_eprop.engine.network import FastNetwork

    spec, inputs, targets = _network()
    mask = np.ones((N_INSTANCES, STEPS), np.int64)
    together = FastNetwork(spec, N_INSTANCES)
    records = together.run(inputs, targets, mask, record=("z", "readout_v", "y3"))
    alone = []
    for k in range(N_INSTANCES):
        net = FastNetwork(spec, 1)
        alone.append({**_outcome(net, net.run(inputs[k:k + 1], targets[k:k + 1],
                                               mask[k:k + 1], record=("z", "readout_v", "y3")),
                                 0), "counters": net.counters})
    return {"together": [_outcome(together, records, k) for k in range(N_INSTANCES)],
            "together_counters": together.counters, "alone": alone,
            "per_instance": list(together._run_kernels),
            "per_instance_alone": list(net._run_kernels)}


def _in_subprocess(threads: int) -> dict:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    code = (f"import json, sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
            f"import test_engine_parallel as t; print(json.dumps(t._run()))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def outcomes():
    return {threads: _in_subprocess(threads) for threads in (1, 2)}


def test_one_and_two_threads_give_the_same_integers(outcomes):
    one, two = outcomes[1], outcomes[2]
    assert one["per_instance"] == [False]
    assert two["per_instance"] == [True]   # instances in parallel
    assert two["per_instance_alone"] == [False]   # one instance: the serial run
    for key in ("together", "together_counters", "alone"):
        assert one[key] == two[key], key


def test_an_instance_among_eight_equals_the_instance_alone(outcomes):
    result = outcomes[2]
    for k in range(N_INSTANCES):
        alone = dict(result["alone"][k])
        alone.pop("counters")
        assert result["together"][k] == alone, k
    summed = {name: sum(a["counters"][name] for a in result["alone"])
              for name in result["together_counters"]}
    assert result["together_counters"] == summed
    assert any(summed.values())   # the counters count something here
    assert len({json.dumps(r["recurrent->lif.weights"])
                for r in result["together"]}) == N_INSTANCES   # the instances differ
