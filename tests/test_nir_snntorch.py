"""export-nir read by an independent NIR reader, snnTorch 1.0.0 (its neuron and layer
mapping, wired by nirtorch 2.6), and simulated on the same input spikes as the product's
float inference.

The dev extra installs snntorch and nirtorch on Python 3.10 (``./scripts/test``); torch
comes with the dl extra, so this module carries the ``lava`` marker and the core suite
does not collect it. Without snntorch it fails to import instead of skipping.

What snnTorch's importer cannot take as written, and how the read graph is adapted
(docs/nir.md, "Reading it with snnTorch"):

* its ``import_from_nir`` has no mapping for NIR's ``LI`` and rewrites the recurrent
  loop into a subgraph that feeds the layer's input through ``W_rec``; the test
  therefore calls ``nirtorch.nir_to_torch`` with snnTorch's own node mapping
  (``_nir_to_snntorch_module``) and no rewrite, and gives it the ``LI`` readout as a
  ``LIF`` whose threshold is +inf (never fires, so NIR's equations are the same);
* it fixes the step at 1e-4 s (``beta = 1 - 1e-4 / tau``); every ``tau`` is multiplied
  by ``1e-4 / dt_s``, i.e. the same network with time counted in snnTorch's steps.
"""
import nir
import nirtorch
import numpy as np
import pytest
import snntorch
import torch
from nir_helpers import saved_network, simulate_nir
from snntorch.import_nir import _nir_to_snntorch_module, import_from_nir

from lava_eprop.network_file import load_network
from lava_eprop.nir_export import chip_weights, write_nir
from lava_eprop.reference.network import simulate
from lava_eprop.reference.params import net_params

SNNTORCH_DT_S = 1e-4          # snntorch.import_nir: dt = 1e-4 for every LIF


def for_snntorch(graph: nir.NIRGraph) -> nir.NIRGraph:
    """``graph`` with time counted in snnTorch's fixed steps and the LI readout as a LIF
    that never fires (threshold +inf)."""
    scale = SNNTORCH_DT_S / graph.metadata["dt_s"]
    lif, li = graph.nodes["lif"], graph.nodes["readout"]
    nodes = dict(graph.nodes)
    nodes["lif"] = nir.LIF(tau=lif.tau * scale, r=lif.r, v_leak=lif.v_leak,
                           v_threshold=lif.v_threshold, v_reset=lif.v_reset)
    nodes["readout"] = nir.LIF(tau=li.tau * scale, r=li.r, v_leak=li.v_leak,
                               v_threshold=np.full(li.tau.shape, np.inf),
                               v_reset=np.zeros(li.tau.shape))
    return nir.NIRGraph(nodes=nodes, edges=graph.edges, metadata=graph.metadata)


def import_snntorch(graph: nir.NIRGraph) -> torch.nn.Module:
    """snnTorch's modules for ``graph``'s nodes (as its ``import_from_nir`` makes them),
    wired by nirtorch (float32, its default)."""
    def snntorch_module(node):
        return _nir_to_snntorch_module(node, init_hidden=True)
    mapping = {nir.Linear: snntorch_module, nir.Affine: snntorch_module, nir.LIF: snntorch_module}
    return nirtorch.nir_to_torch(for_snntorch(graph), mapping)


def run_snntorch(module: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spikes of ``lif`` and membrane of ``readout`` [B, T, n] for inputs ``x`` [B, T, n_in]."""
    spikes = []
    module.lif.register_forward_hook(lambda _module, _input, z: spikes.append(z))
    readout, state = [], None
    with torch.no_grad():
        for t in range(x.shape[1]):
            _, state = module(torch.as_tensor(x[:, t], dtype=torch.float32), state)
            readout.append(module.readout.mem.clone())
    return (torch.stack(spikes, 1).double().numpy(), torch.stack(readout, 1).double().numpy())


def _exported(tmp_path, weights):
    net = load_network(saved_network(tmp_path))
    write_nir(tmp_path / "net.nir", net, weights)
    w = net.weights if weights == "float" else chip_weights(net)
    x = (np.random.default_rng(3).random((4, 60, 7)) < 0.3).astype(float)
    return nir.read(tmp_path / "net.nir"), x, simulate(w, net_params(net.config), x)


@pytest.mark.parametrize("weights", ["float", "chip"])
def test_snntorch_follows_nirs_equations_and_the_product_until_the_first_spike(tmp_path,
                                                                               weights):
    """snnTorch resets to 0 at the spike, as NIR's LIF says: its spikes equal NIR's
    equations at every step, and the product's until each trial's first spike."""
    graph, x, record = _exported(tmp_path, weights)
    z, y = run_snntorch(import_snntorch(graph), x)
    assert 0.02 < record.z.mean() < 0.5                     # the network spikes
    z_nir, y_nir = simulate_nir(graph, x, product_reset=False)
    np.testing.assert_array_equal(z, z_nir)
    np.testing.assert_allclose(y, y_nir, atol=1e-5)          # float32
    first = np.argmax(record.z.any(axis=2), axis=1)
    for b, t in enumerate(first):
        np.testing.assert_array_equal(z[b, :t + 1], record.z[b, :t + 1])
    assert (z != record.z).any()                            # the resets differ after it


@pytest.mark.parametrize("weights", ["float", "chip"])
def test_snntorch_with_the_products_reset_reproduces_its_float_inference(tmp_path, weights):
    """With snnTorch's default Leaky (reset by subtracting the threshold one step after
    the spike, which NIR cannot state) in place of the imported neuron, its beta and
    threshold kept, the spikes equal the product's at every step."""
    graph, x, record = _exported(tmp_path, weights)
    module = import_snntorch(graph)
    imported = module.lif
    assert imported.reset_mechanism == "zero"
    module.lif = snntorch.Leaky(beta=imported.beta, threshold=imported.threshold,
                                init_hidden=True)
    assert module.lif.reset_mechanism == "subtract" and module.lif.reset_delay
    z, y = run_snntorch(module, x)
    np.testing.assert_array_equal(z, record.z)
    np.testing.assert_allclose(y, record.y, atol=1e-5)       # float32


def test_snntorchs_import_from_nir_has_no_leaky_integrator(tmp_path):
    """Why the test wires snnTorch's mapping itself: its importer refuses the readout."""
    graph, _, _ = _exported(tmp_path, "float")
    with pytest.raises(ValueError, match="LI'>, mapping does not exist"):
        import_from_nir(graph)
