"""On-chip e-prop training: ``--engine fixed`` (fast engine) and ``--engine lava``.

Both train the same integer network with the compiled rules and must end
with bit-identical weights; the run writes the same files as ``--engine float``.
"""
from __future__ import annotations

import functools
import json
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from lava_eprop import config
from lava_eprop.cli import cli, main
from lava_eprop.reference.network import mean_rate_hz
from lava_eprop.tasks import make_task
from lava_eprop.training import onchip as train_module
from lava_eprop.training.onchip import train_fixed, zero_autapses

SMALL = {"task": {"name": "pattern-generation", "n_in": 12, "n_steps": 80},
         "network": {"n_rec": 12, "v_th": 0.03, "tau_m": 30.0, "input_scaling": True,
                     "tau_out": 30.0},
         "training": {"feedback": "random", "learning_rate": 3e-3, "iterations": 2,
                      "eval_trials": 1, "eval_every": 1, "reg_rate_hz": 10.0}}


STORE_RECALL = {"task": {"name": "store-recall", "n_in": 20, "window_steps": 10},
                "network": {"n_rec": 12},
                "training": {"iterations": 1, "eval_trials": 5, "reg_rate_hz": 10.0}}


@pytest.mark.parametrize("raw", [SMALL, STORE_RECALL], ids=["regression", "classification"])
def test_held_out_evaluation_in_chunks_scores_as_all_trials_at_once(monkeypatch, raw):
    cfg = config.from_dict({**raw, "training": {**raw["training"], "eval_trials": 5}})
    evaluate = train_module._evaluate
    results = []
    for chunk in (5, 2):              # all five trials at once; chunks of 2, 2 and 1
        monkeypatch.setattr(train_module, "_evaluate", functools.partial(evaluate, chunk=chunk))
        results.append(train_fixed(cfg, make_task(cfg), "fixed", progress=False))
    at_once, chunked = results
    for name in ("initial", "final"):
        one, parts = getattr(at_once, name), getattr(chunked, name)
        assert (one.loss, one.nmse, one.accuracy) == (parts.loss, parts.nmse, parts.accuracy)
        assert mean_rate_hz(one.record.z, 1.0) == mean_rate_hz(parts.record.z, 1.0) > 0
        np.testing.assert_array_equal(one.record.y, parts.record.y)
        np.testing.assert_array_equal(one.record.z, parts.record.z)


@pytest.mark.lava
def test_fixed_and_lava_engines_train_bit_identically():
    cfg = config.from_dict(SMALL)
    task = make_task(cfg)
    fast = train_fixed(cfg, task, "fixed", progress=False)
    lava = train_fixed(cfg, task, "lava", progress=False)
    for name in ("w_in", "w_rec", "w_out", "fb"):
        np.testing.assert_array_equal(getattr(fast.weights, name), getattr(lava.weights, name))
    assert fast.loss_curve == lava.loss_curve
    assert not np.array_equal(fast.weights.w_out, fast.initial_weights.w_out)


def test_zero_autapses_clears_each_groups_own_synapses_only():
    # two groups, 2 LIF (columns 0, 1) and 3 ALIF (columns 2, 3, 4) neurons
    spec = SimpleNamespace(groups=[SimpleNamespace(name="lif", offset=0, size=2),
                                   SimpleNamespace(name="alif", offset=2, size=3)])
    w = {"recurrent->lif": np.arange(1, 11).reshape(2, 5),
         "recurrent->alif": np.arange(1, 16).reshape(1, 3, 5).astype(float),
         "input->lif": np.ones((2, 4), int)}
    out = zero_autapses(spec, w)
    np.testing.assert_array_equal(out["recurrent->lif"], [[0, 2, 3, 4, 5], [6, 0, 8, 9, 10]])
    np.testing.assert_array_equal(out["recurrent->alif"][0], [[1, 2, 0, 4, 5], [6, 7, 8, 0, 10],
                                                              [11, 12, 13, 14, 0]])
    np.testing.assert_array_equal(out["input->lif"], w["input->lif"])
    assert w["recurrent->lif"][0, 0] == 1       # the input is not changed


def test_on_chip_training_keeps_the_recurrent_diagonal_at_zero(monkeypatch):
    raw = {**SMALL, "training": {**SMALL["training"], "learning_rate": 3e-2}}
    cfg = config.from_dict(raw)                 # self_connections: false
    task = make_task(cfg)
    kept = train_fixed(cfg, task, "fixed", progress=False)
    assert not np.diag(kept.weights.w_rec).any()
    # the diagonal learns within a trial: without the host's step it would not stay 0
    monkeypatch.setattr(train_module, "zero_autapses", lambda spec, weights: weights)
    learned = train_fixed(cfg, task, "fixed", progress=False)
    assert np.diag(learned.weights.w_rec).any()


def test_train_engine_fixed_writes_the_float_engines_outputs(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", str(path), "--engine", "fixed", "--out", str(out),
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("task", "engine", "method", "iterations", "seed", "initial_loss",
                "final_loss", "loss_curve", "final_nmse", "seconds", "steps_per_second"):
        assert key in metrics
    assert metrics["engine"] == "fixed" and len(metrics["loss_curve"]) == 2
    assert {"loss.png", "raster.png", "readout.png", "network.npz"} <= \
        {p.name for p in out.iterdir()}


def test_on_chip_training_refuses_bptt_in_one_line(tmp_path, capsys):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(path), "--engine", "fixed", "--method", "bptt",
              "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--method eprop" in err[0] and not (tmp_path / "x").exists()
