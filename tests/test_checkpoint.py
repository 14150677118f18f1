"""Checkpoint and resume: a run killed mid-way and resumed ends bit-identical
to an uninterrupted run with the same seed."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from support import CHECKPOINT_CONFIG, assert_same_run, cli, temporaries

CONFIG = CHECKPOINT_CONFIG


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
    assert_same_run(whole, broken)
    assert temporaries(broken) == []


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
    pytest.param("lava", "lava", 6, 40, 2, "lava",   # one Lava run per trial: kept small
                 marks=pytest.mark.lava),
    pytest.param("fixed", "lava", 6, 40, 2, "lava",  # the engines train bit-identically:
                 marks=pytest.mark.lava),           # checkpoints interchange
    ("fixed", "fixed", 8, 100, 2, "stochastic"),  # the second model: keyed numbers
    pytest.param("fixed", "lava", 6, 40, 2, "stochastic", marks=pytest.mark.lava),
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
    if engine == resume_with == "fixed":      # counts travel in the checkpoint
        assert mb["saturation"] == ma["saturation"]
    assert temporaries(broken) == []
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


# ---------------------------------------------------------------- validation (in process)
TINY = {"task": {"name": "pattern-generation", "n_in": 5, "n_steps": 20},
        "network": {"n_rec": 6}, "training": {"iterations": 4, "eval_every": 3,
                                              "eval_trials": 2}}


def _tiny_run(out, engine="float", **training):
    from lava_eprop import config
    from lava_eprop.runs import run_training

    raw = {**TINY, "training": {**TINY["training"], **training}}
    cfg = config.from_dict(raw)
    run_training(cfg, engine, out, progress=False, checkpoint_every=2)
    return cfg


@pytest.fixture(scope="module")
def float_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("float")
    return _tiny_run(out), out


def _members(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _edited(tmp_path, run_dir, **changes):
    arrays = {**_members(run_dir / "checkpoint.npz"), **changes}
    (tmp_path / "edited").mkdir()
    np.savez(tmp_path / "edited" / "checkpoint.npz",
             **{k: v for k, v in arrays.items() if v is not None})
    return tmp_path / "edited"


@pytest.mark.parametrize("changes,message", [
    ({"rng_state": np.array(["a", "b"])}, r"'rng_state' must have shape \[\]"),
    ({"rng_state": np.array('{"bit_generator": "MT19937"}')}, "not a PCG64"),
    ({"rng_state": np.array("[" * 3000)}, "not a PCG64"),
    ({"opt/t": None}, "missing array 'opt/t'"),
    ({"opt/m_w_rec": np.zeros((3, 3))}, r"'opt/m_w_rec' must have shape \[6, 6\]"),
    ({"w/fb": None}, "missing array 'w/fb'"),
    ({"w/w_rec": np.zeros((3, 3))}, r"'w/w_rec' must have shape \[6, 6\]"),
    ({"eval_curve": np.zeros(6)}, r"'eval_curve' must have shape \[2, 3\]"),
    ({"eval_curve": np.array([[2.0, 0.1, 0.5], [4.0, 0.1, 0.5]])}, "evaluates after"),
    ({"loss_curve": np.zeros(3)}, r"'loss_curve' must have shape \[4\]"),
    ({"loss_curve": np.full(4, np.nan)}, "'loss_curve' holds NaN"),
    ({"iteration": np.array(2.7)}, r"'iteration' must have shape \[\] and dtype integer"),
    ({"iteration": np.array(9)}, r"iteration 9, outside 1..4"),
    ({"engine": np.array("bogus")}, "engine 'bogus' is not one of"),
    ({"seconds": np.array(-1.0)}, "'seconds' = -1.0 is outside"),
    ({"iw/extra": np.zeros((2, 2), int)}, "unknown member 'iw/extra'"),
])
def test_edited_checkpoints_are_refused_in_one_line(tmp_path, float_run, changes, message):
    from lava_eprop.checkpoint import load_checkpoint
    from lava_eprop.errors import UserError

    cfg, run_dir = float_run
    edited = _edited(tmp_path, run_dir, **changes)
    with pytest.raises(UserError, match=message) as info:
        load_checkpoint(edited, cfg, "float", 5, 1)
    assert "\n" not in str(info.value)


def test_unedited_checkpoint_loads(float_run):
    from lava_eprop.checkpoint import load_checkpoint

    cfg, run_dir = float_run
    state = load_checkpoint(run_dir, cfg, "float", 5, 1)
    assert state.iteration == 4 and len(state.loss_curve) == 4
    assert [row[0] for row in state.eval_curve] == [3, 4]      # every 3rd and the last


def test_resuming_a_final_checkpoint_with_nan_weights_writes_no_network(tmp_path, float_run):
    from lava_eprop.errors import UserError
    from lava_eprop.runs import run_training

    cfg, run_dir = float_run
    edited = _edited(tmp_path, run_dir, **{"w/w_out": np.full((1, 6), np.nan)})
    with pytest.raises(UserError, match="'w/w_out' holds NaN or Inf"):
        run_training(cfg, "float", edited, progress=False, resume_dir=edited)
    assert sorted(p.name for p in edited.iterdir()) == ["checkpoint.npz"]


def test_on_chip_checkpoint_without_integer_weights_is_refused(tmp_path):
    from lava_eprop.errors import UserError
    from lava_eprop.runs import run_training

    cfg = _tiny_run(tmp_path / "run", "fixed", iterations=2)
    members = [k for k in _members(tmp_path / "run" / "checkpoint.npz") if k.startswith("iw/")]
    edited = _edited(tmp_path, tmp_path / "run", **{members[0]: None})
    with pytest.raises(UserError, match="--resume: the checkpoint's integer weights"):
        run_training(cfg, "fixed", edited, progress=False, resume_dir=edited)
    assert not (edited / "network.npz").exists()


def test_resumed_fixed_run_counts_the_saturation_of_the_whole_run(tmp_path):
    """Saturation counts travel in the checkpoint: interrupted + resumed = uninterrupted."""
    from lava_eprop import config
    from lava_eprop.checkpoint import load_checkpoint, save_checkpoint
    from lava_eprop.training.onchip import train_fixed
    from lava_eprop.tasks import make_task

    cfg = config.from_dict({     # 400 Hz inputs into traces sized for 10 Hz: x1 saturates
        "task": {"name": "pattern-generation", "n_in": 20, "n_steps": 60,
                 "input_rate_hz": 400.0},
        "network": {"n_rec": 12}, "training": {"iterations": 4, "eval_every": 2,
                                               "eval_trials": 1, "learning_rate": 0.01},
        "fixed_point": {"input_rate_hz": 10.0}})
    task = make_task(cfg)

    def keep_iteration_2(state):
        if state.iteration == 2:
            save_checkpoint(tmp_path / "checkpoint.npz", cfg, state)

    whole = train_fixed(cfg, task, progress=False, checkpoint=keep_iteration_2,
                        checkpoint_every=1)
    resume = load_checkpoint(tmp_path, cfg, "fixed", task.n_in, task.n_out)
    resumed = train_fixed(cfg, task, progress=False, resume=resume)
    assert whole.saturation["input->lif.x1"] > 0
    assert dict(resumed.saturation) == dict(whole.saturation)
