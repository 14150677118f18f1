"""Inference (`lava-eprop run`) and the hardware path (`lava-eprop deploy`)."""
import json
import re

import numpy as np
import pytest
from support import cli

from lava_eprop.config import from_dict
from lava_eprop.network_file import TrainedNetwork, load_network, save_network
from lava_eprop.reference.params import init_weights

pytestmark = pytest.mark.lava     # run and deploy build the Lava graph

ALIF = {"task": {"name": "pattern-generation", "n_in": 10, "n_steps": 60},
        "network": {"n_rec": 12, "neuron": "alif", "tau_a": 200.0, "beta": 0.05, "v_th": 0.03,
                    "refractory_steps": 2, "input_scaling": True}}


@pytest.fixture
def network(tmp_path):
    cfg = from_dict(ALIF)
    path = tmp_path / "net.npz"
    save_network(path, TrainedNetwork(cfg, init_weights(cfg, 10, 1, np.random.default_rng(2)),
                                      "float"))
    return path


def spikes(tmp_path, trials=2, steps=40, n_in=10, **extra):
    x = (np.random.default_rng(0).random((trials, steps, n_in)) < 0.3)
    np.savez(tmp_path / "in.npz", inputs=x, **extra)
    return tmp_path / "in.npz"


def test_run_alif_network_on_lava_graph_equals_fast_engine(tmp_path, network):
    res = cli("run", network, "--inputs", spikes(tmp_path), "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["fast_engine_identical"] is True and summary["learning"] is False
    with np.load(tmp_path / "o" / "outputs.npz") as out:
        assert out["z"].shape == (2, 40, 12) and out["readout_v"].shape == (2, 40, 1)
        assert out["z"].any() and np.all(out["z"] <= 1)
    assert not [p for p in (tmp_path / "o").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("arrays,message", [
    ({"inputs": np.zeros((2, 40, 9))}, r"must have shape \[trials >= 1, 1 <= T <= 100000, 10\]"),
    ({"inputs": np.full((1, 5, 10), 2.0)}, "must hold 0/1 spikes"),
    ({"inputs": np.zeros((1, 5, 10), complex)}, "must hold 0/1 spikes"),
    ({"spikes": np.zeros((1, 5, 10))}, "no 'inputs' array"),
    (None, r"not a readable \.npz"),
])
def test_run_refuses_bad_inputs_in_one_line(tmp_path, network, arrays, message):
    path = tmp_path / "in.npz"
    if arrays is None:
        path.write_bytes(b"PK\x03\x04 truncated")
    else:
        np.savez(path, **arrays)
    res = cli("run", network, "--inputs", path, "--out", tmp_path / "o")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert re.search(message, res.stderr), res.stderr
    assert not (tmp_path / "o").exists()


def test_run_refuses_a_missing_network_and_a_file_as_out(tmp_path, network):
    res = cli("run", tmp_path / "none.npz", "--inputs", spikes(tmp_path))
    assert res.returncode == 2 and "does not exist" in res.stderr
    (tmp_path / "f").write_text("")
    res = cli("run", network, "--inputs", spikes(tmp_path), "--out", tmp_path / "f")
    assert res.returncode == 2 and "is a file" in res.stderr


def test_deploy_without_lava_loihi_says_how_to_simulate(tmp_path, network):
    res = cli("deploy", network, "--out", tmp_path / "o")
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == ("error: Loihi 2 hardware support (lava-loihi) is not "
                                  "installed; run in the simulator with --sim (Loihi2SimCfg, the "
                                  "same fixed-point models)")
    assert not (tmp_path / "o").exists()
    res = cli("run", network, "--inputs", spikes(tmp_path), "--hw", "--out", tmp_path / "o")
    assert res.returncode == 2 and res.stderr.strip() == (
        "error: Loihi 2 hardware support (lava-loihi) is not installed; run in the simulator "
        "without --hw (Loihi2SimCfg, the same fixed-point models)")
    assert not (tmp_path / "o").exists()


def test_hardware_run_config_is_built_until_the_missing_extension_stops_it(monkeypatch, network):
    """With lava-loihi pretended present, the graph gets Loihi2HwCfg with the fixed-point
    models and reaches Lava's compiler, which needs the extension's C process models."""
    from lava.magma.core.run_configs import Loihi2HwCfg
    from lava.utils import loihi

    from lava_eprop.inference import integer_spec, run_lava
    from lava_eprop.lava_run import run_config

    monkeypatch.setattr(loihi, "is_installed", lambda *a, **k: True)
    cfg = run_config(hardware=True)
    assert isinstance(cfg, Loihi2HwCfg) and cfg.select_tag == "fixed_pt"
    assert cfg.exception_proc_model_map == {}
    with pytest.raises(NameError, match="CLoihiProcessModel"):
        run_lava(integer_spec(load_network(network)), np.zeros((1, 3, 10), np.int64),
                 hardware=True)


def test_deploy_sim_learns_on_chip_and_saves_the_learned_network(tmp_path, network):
    res = cli("deploy", network, "--sim", "--learn", "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["learning"] is True and summary["run_config"] == "Loihi2SimCfg(fixed_pt)"
    before, after = load_network(network), load_network(tmp_path / "o" / "network.npz")
    assert after.engine == "lava" and not np.array_equal(before.weights.w_out,
                                                          after.weights.w_out)


def test_deploy_learn_takes_the_host_steps_of_on_chip_training(tmp_path):
    """The saved network is what on-chip training's next trial would start from:
    integer weights on LearningDense's even grid and, without self connections,
    no autapses. At this learning rate the diagonal does learn within the trial
    (checked without the host step: -0.01 .. 0.025)."""
    from lava_eprop.inference import integer_spec
    cfg = from_dict({**ALIF, "task": {**ALIF["task"], "n_steps": 200},
                     "training": {"learning_rate": 0.1}})
    assert cfg.network.self_connections is False
    path = tmp_path / "net.npz"
    save_network(path, TrainedNetwork(cfg, init_weights(cfg, 10, 1, np.random.default_rng(2)),
                                      "float"))
    res = cli("deploy", path, "--sim", "--learn", "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr
    before, after = load_network(path), load_network(tmp_path / "o" / "network.npz")
    assert np.all(np.diag(after.weights.w_rec) == 0)
    assert not np.array_equal(before.weights.w_rec, after.weights.w_rec)
    for name, p in integer_spec(after).projections.items():
        if name != "feedback":
            assert np.all(p.weights % 2 == 0), name


def test_help_lists_the_deployment_commands():
    res = cli("--help")
    assert res.returncode == 0 and all(c in res.stdout for c in ("run", "export-netx", "deploy"))
    res = cli("run", "--help")
    assert "--inputs" in res.stdout and "[trials, T, n_in]" in res.stdout
