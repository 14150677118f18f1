"""``lava-eprop quant-report`` from the command line, for every preset (small settings)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from lava_eprop.quant.metrics import PAIR_METRICS, PAIRS

SHORT = {"pattern-generation": ["--task", "n_steps=120"],
         "evidence-accumulation": ["--task", "n_cues=1", "--task", "delay=20",
                                   "--task", "recall_duration=30"],
         "store-recall": ["--task", "n_windows=3", "--task", "window_steps=40"]}
STEPS = {"pattern-generation": 120, "evidence-accumulation": 50 + 100 + 20 + 30,
         "store-recall": 120}
PNGS = ("errors.png", "readouts.png", "rasters.png", "dw_cosine.png", "training.png")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "lava_eprop.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, check=False)


def _check_report(report: dict, preset: str) -> None:
    score = "final_nmse" if preset == "pattern-generation" else "final_accuracy"
    assert report["task"] == preset
    settings = report["settings"]
    assert settings["n_steps"] == STEPS[preset] and settings["training_trials"] == 2
    assert settings["eval_trials"] == 2 and settings["task_overrides"]
    for pair in PAIRS:
        values = report["pairs"][pair]
        assert set(PAIR_METRICS) <= set(values)
        assert len(values["readout_rmse_per_step"]) == STEPS[preset]
        assert len(values["membrane_rmse_per_step"]) == STEPS[preset]
        assert 0 <= values["spike_agreement"] <= 1
        assert all(-1 <= c <= 1 for c in values["dw_cosine"].values())
        assert "recurrent->readout" in values["dw_cosine"]
    for model in ("paper", "twin", "fixed"):
        values = report["models"][model]
        assert {"initial_loss", "final_loss", score, "loss_curve"} <= set(values)
        assert len(values["loss_curve"]) == 2
    sat = report["saturation"]
    assert sat["total"] == sum(sat["counts"].values()) and "input->lif.x1" in sat["counts"]
    assert set(report["metrics"]) == set(report["directions"])


@pytest.mark.parametrize("preset", list(SHORT))
def test_quant_report_runs_for_every_preset(preset, tmp_path):
    out = tmp_path / "q"
    res = cli("quant-report", preset, "--out", out, "--iterations", 2, "--eval-trials", 2,
              "--seed", 3, "--quiet", *SHORT[preset])
    assert res.returncode == 0, res.stderr
    report = json.loads((out / "quant_report.json").read_text())
    _check_report(report, preset)
    assert report["seed"] == 3 and report["fail_over"] == {"bounds": {}, "violations": []}
    for png in PNGS:
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert "twin_vs_fixed" in res.stdout and "dW cosine recurrent->readout" in res.stdout


def test_fail_over_exits_1_on_a_violated_bound_and_0_otherwise(tmp_path):
    args = ["quant-report", "store-recall", "--iterations", 1, "--eval-trials", 1, "--quiet",
            *SHORT["store-recall"]]
    met = cli(*args, "--out", tmp_path / "ok", "--fail-over", "twin_vs_fixed.readout_rmse=1e9",
              "--fail-over", "fixed.final_accuracy=0")
    assert met.returncode == 0, met.stderr
    broken = cli(*args, "--out", tmp_path / "bad", "--fail-over",
                 "twin_vs_fixed.dw_cosine_min=1.5", "--fail-over", "paper.final_loss=1e9")
    assert broken.returncode == 1, broken.stderr
    assert "twin_vs_fixed.dw_cosine_min" in broken.stderr and "below" in broken.stderr
    report = json.loads((tmp_path / "bad" / "quant_report.json").read_text())
    assert len(report["fail_over"]["violations"]) == 1      # the report is written anyway


@pytest.mark.parametrize("bad, message", [
    (["--fail-over", "readout_rmse"], "malformed"),
    (["--fail-over", "twin_vs_fixed.readout_rmse=abc"], "malformed"),
    (["--fail-over", "nonsense.metric=1"], "unknown metric 'nonsense.metric'"),
    (["--fail-over", "fixed.final_accuracy=0.5"], "unknown metric"),   # regression task
    (["--task", "n_steps"], "malformed"),
    (["--task", "n_steps=0"], "n_steps"),
])
def test_bad_options_are_one_line_usage_errors_and_write_nothing(bad, message, tmp_path):
    out = tmp_path / "never"
    res = cli("quant-report", "pattern-generation", "--out", out, *bad)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr
    assert not out.exists()


def test_quant_report_on_a_10_class_dataset_writes_its_json_and_plots(tmp_path):
    """Ten readouts (the plot's shading once went below alpha 0 from the fourth on)."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", inputs=(rng.random((20, 30, 4)) < 0.1).astype(np.int8),
             targets=np.arange(20) % 10)
    (tmp_path / "c.yaml").write_text("task: {name: dataset, path: d.npz, decision_window: 10}\n"
                                     "network: {n_rec: 8}\n"
                                     "fixed_point: {input_rate_hz: 100.0}\n")
    res = cli("quant-report", tmp_path / "c.yaml", "--out", tmp_path / "q", "--iterations", 1,
              "--eval-trials", 2, "--quiet")
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "q" / "quant_report.json").read_text())
    assert report["kind"] == "classification"
    for png in PNGS:
        assert (tmp_path / "q" / png).read_bytes()[:4] == b"\x89PNG"


def test_quant_report_json_is_written_before_the_plots(tmp_path, monkeypatch):
    from lava_eprop.quant import plots
    from lava_eprop.quant.report import write_report

    def broken(*args):
        raise RuntimeError("plotting failed")
    monkeypatch.setattr(plots, "write_all", broken)
    with pytest.raises(RuntimeError):
        write_report(tmp_path, {"task": "t", "value": 1.0}, {}, 1.0)
    assert json.loads((tmp_path / "quant_report.json").read_text())["value"] == 1.0


def test_quant_report_with_nan_writes_nothing(tmp_path):
    from lava_eprop.errors import NumericalError
    from lava_eprop.quant.report import write_report

    with pytest.raises(NumericalError, match=r"models.paper.final_loss is NaN or Inf"):
        write_report(tmp_path, {"models": {"paper": {"final_loss": float("nan")}}}, {}, 1.0)
    assert list(tmp_path.iterdir()) == []
