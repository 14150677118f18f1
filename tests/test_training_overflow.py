"""Fixed-point saturation during on-chip training is counted and reported, or fatal."""
import json
import subprocess
import sys

import yaml


def _config(tmp_path, input_rate_hz, fixed_point, learning_rate):
    """A 12-neuron pattern-generation config (as tests/test_quant_saturation.py)."""
    path = tmp_path / f"cfg_{input_rate_hz:g}.yaml"
    path.write_text(yaml.safe_dump({
        "task": {"name": "pattern-generation", "n_in": 20, "n_steps": 200,
                 "input_rate_hz": input_rate_hz},
        "network": {"n_rec": 12, "w_in_scale": 1.0},
        "training": {"learning_rate": learning_rate, "iterations": 2, "eval_every": 10,
                     "eval_trials": 1},
        "fixed_point": fixed_point}))
    return path


def _train(cfg, out, *extra):
    return subprocess.run([sys.executable, "-m", "lava_eprop.cli", "train", str(cfg),
                           "--engine", "fixed", "--out", str(out), "--quiet", *extra],
                          capture_output=True, text=True, timeout=600)


def test_saturating_inputs_are_counted_in_metrics_and_reported(tmp_path):
    # x1's impulse is sized for 10 Hz inputs; at 400 Hz the 7-bit trace hits 127
    cfg = _config(tmp_path, 400.0, {"input_rate_hz": 10.0}, 0.01)
    res = _train(cfg, tmp_path / "run")
    assert res.returncode == 0, res.stderr
    sat = json.loads((tmp_path / "run" / "metrics.json").read_text())["saturation"]
    assert sat["counts"]["input->lif.x1"] > 0
    assert sat["total"] == sum(sat["counts"].values())
    assert "fixed-point saturation/wrap events" in res.stderr and "input->lif.x1" in res.stderr


def test_fatal_overflow_stops_with_one_line_and_writes_no_network(tmp_path):
    cfg = _config(tmp_path, 400.0, {"input_rate_hz": 10.0}, 0.01)
    res = _train(cfg, tmp_path / "run", "--overflow", "fatal")
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "iteration 1 (trial 0)" in lines[0] \
        and "input->lif.x1" in lines[0], res.stderr
    assert not (tmp_path / "run" / "network.npz").exists()


def test_a_network_within_its_design_point_counts_zero_and_fatal_passes(tmp_path):
    cfg = _config(tmp_path, 20.0, {"headroom": 16.0}, 0.001)
    res = _train(cfg, tmp_path / "run", "--overflow", "fatal")
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["saturation"]["total"] == 0 and metrics["mean_rate_hz"] > 0


def test_fatal_overflow_needs_the_counting_engine(tmp_path):
    res = subprocess.run([sys.executable, "-m", "lava_eprop.cli", "train", "pattern-generation",
                          "--out", str(tmp_path / "r"), "--overflow", "fatal"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 2 and res.stderr.startswith("error: --overflow fatal with "
                                                         "--engine float")
    assert not (tmp_path / "r").exists()
