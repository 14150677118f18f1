"""Shared helpers: small configs and networks for fast tests."""
from __future__ import annotations

import numpy as np
import pytest

from lava_eprop.config import from_dict
from lava_eprop.reference.params import init_weights, net_params


def small_config(neuron="lif", feedback="symmetric", **network):
    net = dict(n_rec=12, neuron=neuron, tau_m=10.0, tau_a=50.0, v_th=0.3, w_in_scale=3.0,
               w_rec_scale=1.0)
    net.update(network)
    return from_dict({"task": {"name": "pattern-generation"}, "network": net,
                      "training": {"feedback": feedback}})


def small_problem(cfg, kind, seed=1, batch=3, steps=40, n_in=7, n_out=3):
    """Weights, params, inputs, targets and mask of a small random problem."""
    rng = np.random.default_rng(seed)
    p = net_params(cfg)
    w = init_weights(cfg, n_in, n_out, rng)
    w.b_out[:] = 0.1 * rng.standard_normal(n_out)
    x = (rng.random((batch, steps, n_in)) < 0.2).astype(float)
    if kind == "regression":
        targets = rng.standard_normal((batch, steps, n_out))
        mask = np.ones((batch, steps), dtype=bool)
    else:
        targets = rng.integers(0, n_out, (batch, steps))
        mask = np.zeros((batch, steps), dtype=bool)
        mask[:, -10:] = True
    return w, p, x, targets, mask


@pytest.fixture
def rel_err():
    def rel(a, b):
        return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
    return rel
