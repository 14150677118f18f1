"""Initial weights from a network file: ``train --init NETWORK.npz``."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import yaml
from support import cli

from lava_eprop import config
from lava_eprop.network_file import TrainedNetwork, save_network
from lava_eprop.reference.params import init_weights
from lava_eprop.tasks import make_task
from lava_eprop.training.onchip import train_fixed

# random trials (evidence accumulation), so the data stream depends on the seed's generator
EA = {"task": {"name": "evidence-accumulation", "n_in": 8, "n_cues": 3, "t_cue": 10,
               "t_interval": 15, "delay": 20, "recall_duration": 10, "input_rate_hz": 200.0},
      "network": {"n_rec": 16, "v_th": 0.1, "tau_m": 30.0, "input_scaling": True},
      "training": {"feedback": "random", "learning_rate": 3e-3, "iterations": 4,
                   "batch_size": 2, "eval_trials": 4, "eval_every": 2, "seed": 3}}


def write_config(path, raw):
    path.write_text(yaml.safe_dump(raw))
    return path


def save_initial_weights(path, cfg, seed, scale_w_in=1.0):
    """The network a run with ``seed`` initialises with (``w_in`` scaled), as a file."""
    task = make_task(cfg)
    w = init_weights(cfg, task.n_in, task.n_out, np.random.default_rng(seed))
    w.w_in *= scale_w_in
    save_network(path, TrainedNetwork(cfg, w, "float"))
    return path


def outputs(run):
    with np.load(run / "network.npz") as net:
        arrays = {k: net[k] for k in ("w_in", "w_rec", "w_out", "b_out", "fb")}
    metrics = json.loads((run / "metrics.json").read_text())
    return arrays, {k: metrics[k] for k in ("initial_loss", "final_loss", "loss_curve",
                                            "eval_curve")}


@pytest.mark.parametrize("engine", ["float", "fixed"])
def test_init_from_the_seeds_own_weights_equals_the_plain_run(tmp_path, engine):
    """--init with the weights the seed would draw reproduces the plain run bit for
    bit (same data stream, same quantisation on chip); other weights change it."""
    cfg_path = write_config(tmp_path / "c.yaml", EA)
    cfg = config.load(cfg_path)
    own = save_initial_weights(tmp_path / "own.npz", cfg, seed=3)
    other = save_initial_weights(tmp_path / "other.npz", cfg, seed=3, scale_w_in=1.5)
    for name, extra in (("plain", []), ("own", ["--init", own]), ("other", ["--init", other])):
        res = cli("train", cfg_path, "--engine", engine, "--out", tmp_path / name, "--quiet",
                  *extra)
        assert res.returncode == 0, res.stderr
    plain, same, changed = (outputs(tmp_path / n) for n in ("plain", "own", "other"))
    for key, arr in plain[0].items():
        np.testing.assert_array_equal(same[0][key], arr)
    assert same[1] == plain[1]
    assert changed[1]["initial_loss"] != plain[1]["initial_loss"]   # the file is used
    assert json.loads((tmp_path / "own" / "metrics.json").read_text())["init"] == str(own)


def test_a_float_trained_network_continues_learning_on_chip(tmp_path):
    """train --engine float, then train --engine fixed --init with other training
    settings: the chip starts from the trained network, not from random weights."""
    raw = {"task": {"name": "pattern-generation", "n_in": 20, "n_steps": 100},
           "network": {"n_rec": 16, "v_th": 0.03, "tau_m": 30.0, "input_scaling": True,
                       "tau_out": 30.0},
           "training": {"learning_rate": 0.01, "iterations": 15, "eval_every": 5}}
    float_cfg = write_config(tmp_path / "float.yaml", raw)
    raw["training"] = {"learning_rate": 0.002, "iterations": 2, "eval_every": 1}
    raw["network"]["dampening"] = 0.5               # a learning setting: may differ
    chip_cfg = write_config(tmp_path / "chip.yaml", raw)
    res = cli("train", float_cfg, "--engine", "float", "--out", tmp_path / "f", "--quiet")
    assert res.returncode == 0, res.stderr
    res = cli("train", chip_cfg, "--engine", "fixed", "--init", tmp_path / "f" / "network.npz",
              "--out", tmp_path / "chip", "--quiet")
    assert res.returncode == 0, res.stderr
    trained = json.loads((tmp_path / "f" / "metrics.json").read_text())
    chip = json.loads((tmp_path / "chip" / "metrics.json").read_text())
    assert trained["final_nmse"] < trained["initial_nmse"]
    # the chip's first evaluation is the float network's, quantised
    assert abs(chip["initial_nmse"] - trained["final_nmse"]) \
        < abs(chip["initial_nmse"] - trained["initial_nmse"])
    assert chip["engine"] == "fixed" and len(chip["loss_curve"]) == 2


MISMATCHES = [
    ({"network": {"n_rec": 12}}, [], "network.n_rec is 16 there, 12 in this config"),
    ({"network": {"neuron": "alif"}}, [], "network.neuron is 'lif' there, 'alif'"),
    ({"network": {"tau_m": 20.0}}, [], "network.tau_m is 30.0 there, 20.0"),
    ({"task": {"n_in": 12}}, [], "a network of 8 inputs and 2 outputs, this task has n_in 12"),
    ({}, ["--resume", "{out}"], "--init with --resume"),
]


@pytest.mark.parametrize("change,extra,message", MISMATCHES)
def test_an_init_that_does_not_fit_is_one_line_exit_2_and_writes_nothing(
        tmp_path, change, extra, message):
    cfg = config.from_dict(EA)
    init = save_initial_weights(tmp_path / "init.npz", cfg, seed=0)
    raw = {k: {**v, **change.get(k, {})} for k, v in EA.items()}
    out = tmp_path / "out"
    res = cli("train", write_config(tmp_path / "c.yaml", raw), "--init", init, "--out", out,
              *[out if a == "{out}" else a for a in extra])
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not out.exists()


def test_an_on_chip_run_begun_with_init_resumes_from_its_checkpoint_alone():
    """The checkpoint holds the run's initial weights: resuming without them ends
    where the uninterrupted run ends, initial evaluation included."""
    cfg = config.from_dict({**EA, "training": {**EA["training"], "feedback": "symmetric"}})
    task = make_task(cfg)
    start = init_weights(cfg, task.n_in, task.n_out, np.random.default_rng(7))
    start.w_out *= 3.0                  # other feedback exponent than the seed's weights
    states = []
    whole = train_fixed(cfg, task, progress=False, initial=start,
                        checkpoint=lambda s: states.append(copy.deepcopy(s)),
                        checkpoint_every=2)
    resumed = train_fixed(cfg, make_task(cfg), progress=False, resume=states[0])
    for name in ("w_in", "w_rec", "w_out", "fb"):
        np.testing.assert_array_equal(getattr(resumed.weights, name),
                                      getattr(whole.weights, name))
    assert resumed.loss_curve == whole.loss_curve and resumed.eval_curve == whole.eval_curve
    assert resumed.initial.loss == whole.initial.loss
