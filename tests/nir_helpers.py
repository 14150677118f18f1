"""A small trained LIF network on disk and NIR's equations simulated (no Lava).

Used by ``test_nir_export.py`` and ``test_nir_snntorch.py``.
"""
from pathlib import Path

import numpy as np
from support import small_config

from lava_eprop.network_file import TrainedNetwork, save_network
from lava_eprop.reference.params import init_weights


def saved_network(tmp_path: Path, neuron: str = "lif") -> Path:
    """A small float network of ``neuron`` saved as ``tmp_path/network.npz``; its path."""
    cfg = small_config(neuron=neuron)
    w = init_weights(cfg, 7, 3, np.random.default_rng(2))
    w.b_out[:] = [0.1, -0.2, 0.3]
    path = tmp_path / "network.npz"
    save_network(path, TrainedNetwork(cfg, w, "float"))
    return path


def simulate_nir(graph, x: np.ndarray, product_reset: bool) -> tuple[np.ndarray, np.ndarray]:
    """NIR's LIF/LI equations (tau dv/dt = v_leak - v + r I) integrated with forward Euler
    at the graph's dt; spikes z = [v > v_threshold], then v = v_reset (NIR) or, with
    ``product_reset``, v_threshold subtracted after the next step's update."""
    dt = graph.metadata["dt_s"]
    lif, li = graph.nodes["lif"], graph.nodes["readout"]
    w_in, w_rec = graph.nodes["w_in"].weight, graph.nodes["w_rec"].weight
    w_out, b_out = graph.nodes["w_out"].weight, graph.nodes["w_out"].bias
    v = np.zeros((x.shape[0], lif.tau.size))
    z = np.zeros_like(v)
    y = np.zeros((x.shape[0], li.tau.size))
    zs, ys = [], []
    for t in range(x.shape[1]):
        current = x[:, t] @ w_in.T + z @ w_rec.T           # the recurrent edge: last step
        v = v + dt / lif.tau * (lif.v_leak - v + lif.r * current)
        if product_reset:
            v = v - lif.v_threshold * z
        z = (v > lif.v_threshold).astype(float)
        if not product_reset:
            v = np.where(z > 0, lif.v_reset, v)
        y = y + dt / li.tau * (li.v_leak - y + li.r * (z @ w_out.T + b_out))
        zs.append(z)
        ys.append(y)
    return np.stack(zs, 1), np.stack(ys, 1)
