"""netx export: the file loads in lava-dl's netx and runs in Loihi2SimCfg (fixed point);
netx (Lava's own LIF and Dense models) is the independent judge of what the
file means, compared with the product's own fixed-point inference."""
from dataclasses import replace

import numpy as np
import pytest
from support import cli

from lava_eprop.config import from_dict
from lava_eprop.errors import UserError
from lava_eprop.inference import integer_spec
from lava_eprop.lava_graph import LavaGraph
from lava_eprop.network_file import TrainedNetwork
from lava_eprop.netx_export import write_netx
from lava_eprop.netx_run import run_netx
from lava_eprop.reference.params import init_weights
from lava_eprop.tasks import make_task
from lava_eprop.training.onchip import train_fixed

CONFIG = {"task": {"name": "pattern-generation", "n_in": 20, "n_steps": 200},
          "network": {"n_rec": 16, "v_th": 0.03, "tau_m": 30.0, "input_scaling": True,
                      "tau_out": 30.0},
          "training": {"iterations": 3, "learning_rate": 0.003}}


def own_inference(spec, x, record=("z", "v", "readout_v")):
    targets = np.zeros((len(x), spec.n_out), np.int64)
    return LavaGraph(spec, x, targets, np.zeros(len(x), np.int64), learn=False).run(record)


def netx_hidden_v(path, x):
    """netx's recurrent-layer voltage, probed directly (run_netx does not return it)."""
    from lava.lib.dl.netx.hdf5 import Network
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    net = Network(net_config=str(path))
    RingBuffer(data=x.T.astype(np.int32)).s_out.connect(net.inp)
    hidden = net.layers[0].neuron
    mon = Monitor()
    mon.probe(hidden.v, len(x))
    try:
        net.run(condition=RunSteps(num_steps=len(x)), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        return np.asarray(mon.get_data()[hidden.name]["v"]).astype(np.int64)
    finally:
        net.stop()


@pytest.fixture(scope="module")
def task():
    return make_task(from_dict(CONFIG))


def test_netx_equals_own_inference_bit_for_bit_until_the_first_reset(tmp_path, task):
    """With weight exponents 0 (nothing to fold) netx's LIF and the product's neuron
    share every register until a neuron first spikes; then netx resets v to 0
    where the product subtracts the threshold a step later."""
    cfg = from_dict(CONFIG)
    spec = integer_spec(TrainedNetwork(cfg, init_weights(cfg, 20, 1, np.random.default_rng(4)),
                                       "float"))
    projs = {n: replace(p, weight_exp=0) for n, p in spec.projections.items()}
    group = replace(spec.groups[0], rec=spec.groups[0].rec._replace(vth=300))
    spec = replace(spec, projections=projs, groups=(group,))
    x = task.held_out(1, 0).inputs[0].astype(np.int64)
    write_netx(tmp_path / "n.h5", spec)
    own, theirs = own_inference(spec, x), run_netx(tmp_path / "n.h5", x[None])
    v = netx_hidden_v(tmp_path / "n.h5", x)
    first = int(np.argmax(own["z"].any(axis=1)))
    assert 0 < first < len(x) - 5
    np.testing.assert_array_equal(theirs["z"][0][:first + 1], own["z"][:first + 1])
    np.testing.assert_array_equal(v[:first], own["v"][:first])
    np.testing.assert_array_equal(theirs["readout_v"][0][:first + 2], own["readout_v"][:first + 2])
    spiked = own["z"][first].astype(bool)
    assert np.all(v[first][spiked] == 0) and np.all(own["v"][first][spiked] > 0)  # the reset
    assert not np.array_equal(theirs["readout_v"][0], own["readout_v"])


def test_netx_export_of_a_trained_network_measured_against_own_inference(tmp_path, task):
    """Trained on chip (fast engine), exponents folded: the measured difference
    quoted in docs/deployment.md (reset and register scale), on a held-out trial."""
    cfg = from_dict(CONFIG)
    net = TrainedNetwork(cfg, train_fixed(cfg, task, "fixed", progress=False).weights, "fixed")
    spec = integer_spec(net)
    export = write_netx(tmp_path / "n.h5", spec)
    x = task.held_out(1, 0).inputs.astype(np.int64)
    own, theirs = own_inference(spec, x[0]), run_netx(tmp_path / "n.h5", x)
    assert export.register_exp == {"recurrent": 5, "readout": 1}
    agreement = float(np.mean(own["z"] == theirs["z"][0]))
    y_own = own["readout_v"][:, 0] / (spec.readout_scale * 64)
    corr = float(np.corrcoef(y_own, theirs["y"][0][:, 0])[0, 1])
    print(f"spike agreement {agreement:.4f}, readout correlation {corr:.4f}, rates "
          f"{own['z'].mean():.4f} (own) {theirs['z'].mean():.4f} (netx)")
    assert agreement > 0.85 and corr > 0.95


def test_alif_and_refractory_networks_are_refused(tmp_path):
    for network, what in (({"neuron": "alif", "tau_a": 200.0, "beta": 0.05}, "no adaptive threshold"),
                          ({"refractory_steps": 3}, "no refractory period")):
        cfg = from_dict({**CONFIG, "network": {**CONFIG["network"], **network}})
        spec = integer_spec(TrainedNetwork(cfg, init_weights(cfg, 20, 1,
                                                              np.random.default_rng(0)), "f"))
        with pytest.raises(UserError, match=what):
            write_netx(tmp_path / "n.h5", spec)
        assert not list(tmp_path.iterdir())


def test_export_netx_cli_writes_a_file_netx_loads_and_refuses_bad_input(tmp_path):
    from lava_eprop.network_file import save_network
    cfg = from_dict(CONFIG)
    save_network(tmp_path / "net.npz",
                 TrainedNetwork(cfg, init_weights(cfg, 20, 1, np.random.default_rng(0)), "float"))
    res = cli("export-netx", tmp_path / "net.npz", "-o", tmp_path / "net.h5")
    assert res.returncode == 0 and "note: reset" in res.stderr, res.stderr
    from lava.lib.dl.netx.hdf5 import Network
    net = Network(net_config=str(tmp_path / "net.h5"))
    assert [type(layer).__name__ for layer in net.layers] == ["RecurrentDense", "Dense"]
    for args, message in ((["missing.npz", "-o", tmp_path / "x.h5"], "does not exist"),
                          ([tmp_path / "net.h5", "-o", tmp_path / "x.h5"], "not a readable"),
                          ([tmp_path / "net.npz", "-o", tmp_path / "no" / "x.h5"],
                           "does not exist"),
                          ([tmp_path / "net.npz"], "Missing option")):
        res = cli("export-netx", *args)
        assert res.returncode == 2 and message in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.h5").exists()
    with pytest.raises(UserError, match="not a netx file"):
        run_netx(tmp_path / "net.npz", np.zeros((1, 3, 20)))


def test_a_layer_of_zero_weights_is_refused_as_netx_cannot_load_it(tmp_path):
    """lava-dl 0.6.0's optimize_weight_bits divides 255 by the largest weight: an
    all-zero readout would be written, then crash netx's loader (OverflowError)."""
    cfg = from_dict({**CONFIG, "network": {**CONFIG["network"], "w_out_scale": 0.0}})
    spec = integer_spec(TrainedNetwork(cfg, init_weights(cfg, 20, 1, np.random.default_rng(0)),
                                       "float"))
    with pytest.raises(UserError, match="the readout weights are all 0"):
        write_netx(tmp_path / "n.h5", spec)
    assert not list(tmp_path.iterdir())
