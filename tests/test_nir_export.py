"""export-nir: the NIR graph of a trained LIF network reads back with nir.read and,
simulated from NIR's own equations, reproduces the product's float inference."""

import nir
import numpy as np
import pytest
from nir_helpers import saved_network, simulate_nir

from lava_eprop.cli import main
from lava_eprop.network_file import load_network
from lava_eprop.nir_export import write_nir
from lava_eprop.reference.network import simulate
from lava_eprop.reference.params import net_params


@pytest.mark.parametrize("weights", ["float", "chip"])
def test_export_reads_back_with_nir_and_states_its_weights(tmp_path, weights):
    net = saved_network(tmp_path)
    out = tmp_path / "net.nir"
    main(["export-nir", str(net), "-o", str(out), "--weights", weights])
    graph = nir.read(out)
    assert graph.metadata["weights"] == weights
    assert set(graph.edges) == {("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"),
                                ("w_rec", "lif"), ("lif", "w_out"), ("w_out", "readout"),
                                ("readout", "output")}
    p = net_params(load_network(net).config)
    dt = graph.metadata["dt_s"]
    assert dt == pytest.approx(1e-3)
    np.testing.assert_allclose(1 - dt / graph.nodes["lif"].tau, p.alpha, rtol=1e-12)
    np.testing.assert_allclose(dt * graph.nodes["lif"].r / graph.nodes["lif"].tau, 1.0)
    np.testing.assert_allclose(1 - dt / graph.nodes["readout"].tau, p.kappa, rtol=1e-12)
    assert isinstance(graph.nodes["lif"], nir.LIF) and isinstance(graph.nodes["readout"], nir.LI)


def test_nir_equations_reproduce_the_products_inference(tmp_path):
    """With the product's reset, NIR's equations give the same spikes and readout; with
    NIR's reset to 0 spikes agree up to the first spike of each trial (docs/nir.md)."""
    net = load_network(saved_network(tmp_path))
    write_nir(tmp_path / "net.nir", net)
    graph = nir.read(tmp_path / "net.nir")
    x = (np.random.default_rng(3).random((4, 60, 7)) < 0.3).astype(float)
    record = simulate(net.weights, net_params(net.config), x)
    assert 0.02 < record.z.mean() < 0.5                     # the network spikes
    z, y = simulate_nir(graph, x, product_reset=True)
    np.testing.assert_array_equal(z, record.z)
    np.testing.assert_allclose(y, record.y, atol=1e-9)
    z0, _ = simulate_nir(graph, x, product_reset=False)
    first = np.argmax(record.z.any(axis=2), axis=1)        # each trial's first spike
    for b, t in enumerate(first):
        np.testing.assert_array_equal(z0[b, :t + 1], record.z[b, :t + 1])
    assert (z0 != record.z).any()                           # the resets differ after it


def test_alif_networks_are_refused_in_one_line(tmp_path, capsys):
    net = saved_network(tmp_path, neuron="alif")
    with pytest.raises(SystemExit) as done:
        main(["export-nir", str(net), "-o", str(tmp_path / "net.nir")])
    err = capsys.readouterr().err
    assert done.value.code == 2 and err.count("\n") == 1
    assert "no adaptive threshold" in err and not (tmp_path / "net.nir").exists()
