"""Checkpoint and resume: a run killed mid-way and resumed ends bit-identical
to an uninterrupted run with the same seed."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from test_cli import cli

CONFIG = ("task: {name: pattern-generation, n_in: 30, n_steps: 300}\n"
          "network: {n_rec: 40, v_th: 0.03, tau_m: 30.0, input_scaling: true, tau_out: 30.0}\n"
          "training: {iterations: 120, eval_every: 7, reg_coeff: 100.0, "
          "learning_rate: 0.003, lr_decay: 0.5, lr_decay_every: 40, feedback: adaptive}\n")


def kill_after_first_checkpoint(args, run_dir):
    proc = subprocess.Popen([sys.executable, "-m", "lava_eprop.cli", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while not (run_dir / "checkpoint.npz").exists():
            assert proc.poll() is None and time.time() < deadline, "run ended before a checkpoint"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()   # it really died mid-run


@pytest.mark.parametrize("optimizer", ["adam", "adam, adam: bias_corrected", "sgd"])
def test_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path, optimizer):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.replace("feedback: adaptive",
                                  f"feedback: adaptive, optimizer: {optimizer}"))
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert cli("train", cfg, "--out", whole, "--quiet").returncode == 0
    kill_after_first_checkpoint(["train", cfg, "--out", broken, "--checkpoint-every", 10,
                                 "--quiet"], broken)
    res = cli("train", cfg, "--out", broken, "--resume", broken, "--checkpoint-every", 10,
              "--quiet")
    assert res.returncode == 0, res.stderr
    a, b = np.load(whole / "network.npz"), np.load(broken / "network.npz")
    for key in ("w_in", "w_rec", "w_out", "fb"):
        np.testing.assert_array_equal(a[key], b[key])


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    assert cli("train", cfg, "--out", tmp_path / "r", "--iterations", 20, "--checkpoint-every",
               10, "--quiet").returncode == 0
    res = cli("train", cfg, "--out", tmp_path / "r2", "--resume", tmp_path / "r", "--quiet")
    assert res.returncode == 2 and "different config" in res.stderr
    res = cli("train", cfg, "--out", tmp_path / "r3", "--resume", tmp_path / "none", "--quiet")
    assert res.returncode == 2 and "no checkpoint.npz" in res.stderr


def test_numerical_fault_keeps_the_last_good_checkpoint(tmp_path):
    cfg = tmp_path / "huge.yaml"
    cfg.write_text("task: {name: pattern-generation, n_steps: 50}\n"
                   "network: {n_rec: 10, readout_bias: true}\n"
                   "training: {optimizer: sgd, learning_rate: 1.0e+6, iterations: 50}\n")
    res = cli("train", cfg, "--out", tmp_path / "out", "--checkpoint-every", 1, "--quiet")
    assert res.returncode == 1 and "NaN or Inf" in res.stderr
    failed_at = int(res.stderr.split("iteration ")[1].split(":")[0])
    with np.load(tmp_path / "out" / "checkpoint.npz") as ckpt:
        assert int(ckpt["iteration"]) == failed_at          # iterations 0..failed_at-1 done
        assert all(np.all(np.isfinite(ckpt[k])) for k in ckpt.files if k.startswith("w/"))
    assert not (tmp_path / "out" / "metrics.json").exists()


@pytest.mark.parametrize("engine,resume_with,iterations,steps,every,rounding", [
    ("fixed", "fixed", 16, 100, 4, "lava"),
    ("lava", "lava", 6, 40, 2, "lava"),     # one Lava run per trial: kept small
    ("fixed", "lava", 6, 40, 2, "lava"),    # the engines train bit-identically: checkpoints interchange
    ("fixed", "fixed", 8, 100, 2, "stochastic"),  # the second model: keyed numbers
    ("fixed", "lava", 6, 40, 2, "stochastic"),
])
def test_killed_and_resumed_on_chip_run_equals_an_uninterrupted_one(
        tmp_path, engine, resume_with, iterations, steps, every, rounding):
    """On-chip training (integer weights, online rules) killed with SIGKILL after a
    checkpoint and resumed ends with the same weights and curves, bit for bit."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.replace("iterations: 120", f"iterations: {iterations}")
                   .replace("n_steps: 300", f"n_steps: {steps}")
                   .replace("eval_every: 7", "eval_every: 3")
                   .replace("feedback: adaptive", "feedback: symmetric")   # B follows W_out
                   + f"fixed_point: {{rounding: {rounding}}}\n")
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert cli("train", cfg, "--engine", engine, "--out", whole, "--quiet").returncode == 0
    kill_after_first_checkpoint(["train", cfg, "--engine", engine, "--out", broken,
                                 "--checkpoint-every", every, "--quiet"], broken)
    with np.load(broken / "checkpoint.npz") as ckpt:
        assert 0 < int(ckpt["iteration"]) < iterations and str(ckpt["engine"]) == engine
    res = cli("train", cfg, "--engine", resume_with, "--out", broken, "--resume", broken,
              "--checkpoint-every", every, "--quiet")
    assert res.returncode == 0, res.stderr
    a, b = np.load(whole / "network.npz"), np.load(broken / "network.npz")
    for key in ("w_in", "w_rec", "w_out", "fb"):
        np.testing.assert_array_equal(a[key], b[key])
    ma = json.loads((whole / "metrics.json").read_text())
    mb = json.loads((broken / "metrics.json").read_text())
    assert ma["loss_curve"] == mb["loss_curve"] and ma["eval_curve"] == mb["eval_curve"]
    if resume_with == "lava":     # Lava cannot count saturation: said, not reported as 0
        assert mb["saturation"] is None and "--engine fixed" in mb["saturation_note"]
        assert "not counted by --engine lava" in res.stderr


def test_resume_refuses_a_checkpoint_of_the_other_kind_of_engine(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.replace("n_steps: 300", "n_steps: 50"))
    assert cli("train", cfg, "--out", tmp_path / "r", "--iterations", 2, "--checkpoint-every",
               1, "--quiet").returncode == 0
    res = cli("train", cfg, "--engine", "fixed", "--iterations", 2, "--out", tmp_path / "r2",
              "--resume", tmp_path / "r", "--quiet")
    assert res.returncode == 2 and "written by --engine float" in res.stderr, res.stderr
