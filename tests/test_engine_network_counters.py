"""FastNetwork counts saturation and wrap-around, never silently (issues #5, #8).

Expected counts are derived from recorded states and the documented integer
arithmetic (``neurons`` and ``rule_eval`` docstrings), not from the counting
code: a benchmark-sized network where only recurrent x1 traces saturate, and
a driven network whose membrane registers overflow.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from lava_eprop.engine.network import FastNetwork
from lava_eprop.engine.neurons import TRACE_MAX, UV_MAX, V_SHIFT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from engine_speed import _network  # noqa: E402  (the benchmark's network)

X1_DECAY = np.exp(-1 / 30)        # x1_tau = 30 in every projection of this network


def _x1_saturation_bounds(x1: np.ndarray, spikes: np.ndarray, impulse: int) -> tuple:
    """Fewest and most 7-bit x1 saturations the recorded x1 [T, n] and pre spikes allow.

    With one-step epochs a spiking neuron's x1 becomes ``clip(d + impulse, 0, 127)``
    where the stochastic decay gives ``d`` = ``floor(f x)`` or one more: certainly
    saturated if ``floor(f x) + impulse > 127``; possibly so only if the result is
    127 and ``floor(f x) + impulse + 1 > 127``.
    """
    before = np.vstack([np.zeros_like(x1[:1]), x1[:-1]])
    low = np.floor(X1_DECAY * before) + impulse
    fired = spikes.astype(bool)
    sure = fired & (low > TRACE_MAX)
    maybe = fired & ~sure & (low + 1 > TRACE_MAX) & (x1 == TRACE_MAX)
    return int(sure.sum()), int(sure.sum() + maybe.sum())


def test_benchmark_network_counts_only_recurrent_x1_saturation():
    spec, inputs, targets, mask = _network(1000)
    net = FastNetwork(spec)
    names = [f"{p}.{v}" for p in spec.projections
             for v in ("weights", "tag_1", "x1", "a_buff")]
    trace = net.run(inputs[None], targets[None], mask[None],
                    record=["z", "u", "v", "y1", "y2", "y3", "err_y3", "readout_v"] + names)
    counts = net.counters

    # x1: input spikes and recurrent spikes with impulse 18, readout x1 impulse 7
    pre = {"input->lif": inputs[:, None], "recurrent->lif": trace["z"],
           "recurrent->readout": trace["z"]}
    for proj, spikes in pre.items():
        impulse = int(spec.projection(proj).rule().x1_impulse)
        low, high = _x1_saturation_bounds(trace[f"{proj}.x1"][:, 0], spikes[:, 0], impulse)
        assert low <= counts[f"{proj}.x1"] <= high, proj
    assert counts["recurrent->lif.x1"] > 0 and counts["input->lif.x1"] == 0

    # weights and tags: these rules' products cannot saturate (widths), so a
    # saturated update would leave the value at or next to its limit
    for proj in spec.projections:
        assert np.abs(trace[f"{proj}.weights"]).max() < 250
        assert np.abs(trace[f"{proj}.tag_1"]).max() < 250
        assert counts[f"{proj}.weights"] == counts[f"{proj}.tag_1"] == 0
        assert counts[f"{proj}.tag_2"] == 0    # no dd rule
        # third factors sent within [0, 127]: nothing to clip on the post side
        assert all(counts[f"{proj}.{y}"] == 0 for y in ("x2", "y1", "y2", "y3"))
    for y in ("y1", "y2", "y3", "err_y3"):
        assert 0 <= trace[y].min() and trace[y].max() <= TRACE_MAX

    # activations and membranes: a_in = the two projections' wrapped buffers of the
    # previous step; du = 4095 makes u = wrap24(a_in << 6), so no wrap if |a_in << 6| < 2^23
    buffers = [trace[f"{p}.a_buff"][:, 0] for p in ("input->lif", "recurrent->lif")]
    a_in = sum(np.vstack([np.zeros_like(b[:1]), b[:-1]]) for b in buffers)
    assert spec.groups[0].rec.du == 4095
    assert np.abs(a_in << V_SHIFT).max() < UV_MAX
    assert np.abs(trace["v"]).max() < UV_MAX - 1 and np.abs(trace["readout_v"]).max() < UV_MAX - 1
    for name in ("lif.a_in", "lif.u", "lif.v", "readout.u", "readout.v"):
        assert counts[name] == 0, name
    for proj in spec.projections:
        assert counts[f"{proj}.a_buff"] == 0


def test_driven_membranes_count_u_wraps_and_v_saturation():
    """All inputs spike every step onto input weights 254 (after Lava's truncation),
    recurrent weights 0, error masked (the weights stay frozen): from step 2 on
    every neuron gets ``a_in = n_in * 254 << weight_exp``; with du = 4095,
    ``u = wrap24(a_in << 6)`` wraps whenever ``a_in << 6 > 2^23``."""
    spec, _, targets, _ = _network(40)
    steps, n_in, n_rec = 40, spec.n_in, spec.n_rec
    weights = {name: np.zeros_like(p.weights) for name, p in spec.projections.items()}
    weights["input->lif"][:] = 254
    spec = spec.with_weights(weights)
    net = FastNetwork(spec)
    trace = net.run(np.ones((1, steps, n_in), np.int64), targets[None],
                    np.zeros((1, steps), np.int64), record=("u", "v"))
    wide_u = (n_in * 254 << spec.projection("input->lif").weight_exp) << V_SHIFT
    assert spec.groups[0].rec.du == 4095 and wide_u > UV_MAX
    counts = net.counters
    assert counts["lif.u"] == n_rec * (steps - 1)
    assert (trace["u"][1:] == wide_u - 2 * UV_MAX).all()    # Lava's single wrap step
    at_rail = int(np.count_nonzero(np.abs(trace["v"]) == UV_MAX - 1))
    assert at_rail > 0 and counts["lif.v"] == at_rail
    assert counts["lif.a_in"] == counts["readout.u"] == counts["readout.v"] == 0
