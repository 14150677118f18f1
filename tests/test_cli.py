"""The lava-eprop command line, run as a user runs it (a subprocess)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from support import cli

METRIC_KEYS = {"task", "engine", "method", "iterations", "seed", "initial_loss", "final_loss",
               "loss_curve", "seconds", "steps_per_second"}


def test_train_writes_metrics_network_and_plots(tmp_path):
    out = tmp_path / "run"
    res = cli("train", "pattern-generation", "--engine", "float", "--iterations", 3,
              "--seed", 5, "--out", out, "--quiet")
    assert res.returncode == 0, res.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRIC_KEYS <= set(metrics) and "final_nmse" in metrics
    assert (metrics["iterations"], metrics["seed"], metrics["engine"]) == (3, 5, "float")
    assert len(metrics["loss_curve"]) == 3
    net = np.load(out / "network.npz")
    assert net["w_rec"].shape == (100, 100) and "training:" in str(net["config_yaml"])
    for png in ("loss.png", "raster.png", "readout.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.lava                     # BPTT needs PyTorch (the dl extra)
def test_train_classification_with_bptt_reports_accuracy(tmp_path):
    cfg = tmp_path / "ea.yaml"
    cfg.write_text("task: {name: evidence-accumulation, delay: 20, n_cues: 3}\n"
                   "network: {n_rec: 20, neuron: alif}\n"
                   "training: {batch_size: 4, eval_trials: 8}\n")
    res = cli("train", cfg, "--method", "bptt", "--iterations", 2, "--out", tmp_path / "o",
              "--quiet")
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["method"] == "bptt" and 0 <= metrics["final_accuracy"] <= 1


@pytest.mark.parametrize("engine", ["float", "fixed"])
def test_same_seed_gives_identical_results_across_processes_and_hash_seeds(tmp_path, engine):
    for name, hash_seed, seed in (("a", "1", "0"), ("b", "4242", "0"), ("c", "1", "1")):
        res = subprocess.run(
            [sys.executable, "-m", "lava_eprop.cli", "train", "pattern-generation",
             "--engine", engine, "--iterations", "2", "--seed", seed,
             "--out", str(tmp_path / name), "--quiet"],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert res.returncode == 0, res.stderr
    a, b = np.load(tmp_path / "a" / "network.npz"), np.load(tmp_path / "b" / "network.npz")
    for key in ("w_in", "w_rec", "w_out", "fb"):
        np.testing.assert_array_equal(a[key], b[key])
    c = np.load(tmp_path / "c" / "network.npz")          # another seed, another network
    assert not np.array_equal(a["w_rec"], c["w_rec"])
    ma = json.loads((tmp_path / "a" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert ma["loss_curve"] == mb["loss_curve"] and ma["final_nmse"] == mb["final_nmse"]


BAD_INVOCATIONS = [
    (["train", "no-such-preset", "--out", "{out}"], "neither a preset"),
    (["train", "pattern-generation", "--engine", "gpu", "--out", "{out}"],
     "'gpu' is not one of 'float', 'fixed', 'lava'"),
    (["train", "pattern-generation", "--iterations", "0", "--out", "{out}"],
     "0 is not in the range"),
    (["train", "pattern-generation"], "Missing option '--out'"),
    (["train", "{bad_yaml}", "--out", "{out}"], "malformed YAML"),
    (["train", "{bad_key}", "--out", "{out}"], "unknown key 'network.tau'"),
    (["train", "{bad_data}", "--out", "{out}"], "'targets' must have shape"),
    (["train", "{missing_data}", "--out", "{out}"], "does not exist"),
]


@pytest.mark.parametrize("args,message", BAD_INVOCATIONS)
def test_bad_input_gives_one_line_exit_2_no_traceback_no_output(tmp_path, args, message):
    (tmp_path / "bad.yaml").write_text("task: {name: pattern-generation\n")
    (tmp_path / "key.yaml").write_text("task: {name: pattern-generation}\nnetwork: {tau: 3}\n")
    np.savez(tmp_path / "d.npz", inputs=np.zeros((4, 5, 2)), targets=np.zeros((4, 5)))
    (tmp_path / "data.yaml").write_text(f"task: {{name: dataset, path: {tmp_path / 'd.npz'}}}\n")
    (tmp_path / "nodata.yaml").write_text("task: {name: dataset, path: nowhere.npz}\n")
    subs = {"{out}": tmp_path / "out", "{bad_yaml}": tmp_path / "bad.yaml",
            "{bad_key}": tmp_path / "key.yaml", "{bad_data}": tmp_path / "data.yaml",
            "{missing_data}": tmp_path / "nodata.yaml"}
    res = cli(*[subs.get(a, a) for a in args])
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not (tmp_path / "out").exists()


def test_numerical_blow_up_stops_with_the_iteration_named(tmp_path):
    cfg = tmp_path / "huge.yaml"
    cfg.write_text("task: {name: pattern-generation, n_steps: 50}\n"
                   "network: {n_rec: 10, readout_bias: true}\n"
                   "training: {optimizer: sgd, learning_rate: 1.0e+6, iterations: 50}\n")
    res = cli("train", cfg, "--out", tmp_path / "out", "--quiet")
    assert res.returncode == 1
    assert "iteration" in res.stderr and "NaN or Inf" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "out").exists()


def test_help_lists_train_and_its_options():
    res = cli("--help")
    assert res.returncode == 0 and "train" in res.stdout
    res = cli("train", "--help")
    for option in ("--engine", "--method", "--iterations", "--seed", "--out"):
        assert option in res.stdout


def test_an_output_path_under_a_file_is_refused_before_training(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    res = cli("train", "pattern-generation", "--out", blocker / "run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith("error: --out ") and "is a file" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_unreadable_path_errors_are_one_line(tmp_path):
    """A file-system error on a user path (here: a directory given as the network
    file) is one line, exit 2, not a traceback."""
    res = cli("export-netx", tmp_path, "-o", tmp_path / "n.h5")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------ in process (fast)
def main_in_process(*args):
    """``lava-eprop ARGS`` in this process: (exit status, stdout, stderr)."""
    import contextlib
    import io

    from lava_eprop.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


TINY_CONFIG = ("task: {name: pattern-generation, n_in: 5, n_steps: 20}\n"
               "network: {n_rec: 6}\ntraining: {iterations: 2, eval_trials: 2}\n")


def _refused(res, message):
    code, _, err = res
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err, err


def test_an_out_holding_a_run_is_refused_unless_force(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY_CONFIG)
    out = tmp_path / "run"
    assert main_in_process("train", cfg, "--out", out, "--checkpoint-every", 1, "--quiet")[0] == 0
    before = (out / "metrics.json").read_bytes()
    _refused(main_in_process("train", cfg, "--out", out, "--seed", 1, "--quiet"),
             "already holds a run (metrics.json, network.npz, checkpoint.npz")
    assert (out / "metrics.json").read_bytes() == before
    assert main_in_process("train", cfg, "--out", out, "--seed", 1, "--force", "--quiet")[0] == 0
    assert not (out / "checkpoint.npz").exists()       # the other run's: removed
    assert json.loads((out / "metrics.json").read_text())["seed"] == 1


@pytest.mark.parametrize("args,message", [
    (["--out", ""], "is empty"),
    (["--out", "/proc/lava-eprop-x"], "is not writable"),
    (["--out", "{tmp}/o", "--resume", ""], "is empty"),
])
def test_empty_and_unwritable_out_are_refused_before_training(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    _refused(main_in_process("train", "pattern-generation", *args, "--quiet"), message)


def test_resume_removes_the_temporary_files_a_killed_run_left(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY_CONFIG)
    out = tmp_path / "run"
    assert main_in_process("train", cfg, "--out", out, "--checkpoint-every", 1, "--quiet")[0] == 0
    (out / "metrics.json").unlink()
    (out / "network.npz").unlink()
    stray = [".checkpoint.npz.k2j3_x.tmp.npz", ".network.npz.a1b2c3d4.tmp.npz",
             ".metrics.json.zz9.tmp.json", ".loss.png.q.tmp.png"]
    for name in stray + [".mine.tmp.npz"]:
        (out / name).write_bytes(b"partial")
    assert main_in_process("train", cfg, "--out", out, "--resume", out, "--quiet")[0] == 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".mine.tmp.npz"]


def test_a_non_finite_held_out_score_stops_with_one_line_and_writes_nothing(tmp_path):
    """Constant regression targets: the held-out NMSE divides by a variance of 0."""
    np.savez(tmp_path / "d.npz", inputs=np.zeros((6, 10, 3)), targets=np.ones((6, 10, 1)))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("task: {name: dataset, path: d.npz}\nnetwork: {n_rec: 4}\n"
                   "training: {iterations: 1, eval_trials: 1}\n")
    code, _, err = main_in_process("train", cfg, "--out", tmp_path / "o", "--quiet")
    assert code == 1 and err.count("\n") == 1 and "NaN or Inf" in err, err
    assert not (tmp_path / "o").exists()
