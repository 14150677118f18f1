"""The config commands of the CLI: presets, show-config, --set on every command that
takes a config, and train's closing summary and --json line."""
import json

import numpy as np
import pytest
import yaml
from support import cli

from lava_eprop.config import PRESETS, SCHEMA, TASK_SCHEMAS, _TASK_COMMON, from_dict, load

SMALL = ["--set", "task.n_steps=60", "--set", "network.n_rec=10"]


def test_presets_lists_each_preset_on_one_line():
    res = cli("presets")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(PRESETS)
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines)  # a description each


@pytest.mark.parametrize("preset", PRESETS)
def test_show_config_output_loads_back_to_the_resolved_config(preset):
    res = cli("show-config", preset)
    assert res.returncode == 0, res.stderr
    assert from_dict(yaml.safe_load(res.stdout)).to_dict() == load(preset).to_dict()


def test_show_config_applies_set_and_comments_every_key_with_its_schema_doc(tmp_path):
    (tmp_path / "d.yaml").write_text("task: {name: dataset, path: data/x.npz}\n"
                                     "network: {n_rec: 7}\n")
    res = cli("show-config", tmp_path / "d.yaml", "--set", "training.iterations=33",
              "--set", "fixed_point.input_rate_hz=12.5")
    assert res.returncode == 0, res.stderr
    shown = yaml.safe_load(res.stdout)
    assert shown["task"]["path"] == "data/x.npz" and shown["network"]["n_rec"] == 7
    assert shown["training"]["iterations"] == 33
    assert shown["fixed_point"]["input_rate_hz"] == 12.5
    fields = {"task": {**_TASK_COMMON, **TASK_SCHEMAS["dataset"]}, **SCHEMA}
    seen, section, comment = set(), None, []
    for line in res.stdout.splitlines():
        if line.startswith("  # "):
            comment.append(line[4:])
        elif line.startswith("  "):
            key = line.split(":")[0].strip()
            field = fields[section][key]
            assert " ".join(comment) == f"{field.doc} (allowed: {field.allowed()})", key
            seen.add((section, key))
            comment = []
        elif not line.startswith("#"):
            section = line.rstrip(":")
    assert seen == {(s, k) for s, keys in fields.items() for k in keys}


BAD_SETS = [
    ("network.n_recc=5", "unknown key 'network.n_recc'"),
    ("network.n_rec=-1", "network.n_rec = -1 is out of range"),
    ("training.method=sgd", "is not allowed (allowed: one of eprop, bptt)"),
    ("n_rec=5", "expected SECTION.KEY=VALUE"),
    ("model.n_rec=5", "unknown section 'model'"),
]
COMMANDS = [
    ["train", "pattern-generation", "--out", "{out}", "--quiet"],
    ["show-config", "pattern-generation"],
    ["export-rule", "pattern-generation", "-o", "{out}/rules.yaml"],
    ["show-rule", "pattern-generation"],
    ["quant-report", "pattern-generation", "--out", "{out}", "--quiet"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("setting,message", BAD_SETS)
def test_a_bad_set_is_one_error_line_on_every_command(tmp_path, command, setting, message):
    out = tmp_path / "out"
    res = cli(*[a.replace("{out}", str(out)) for a in command], "--set", setting)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert "Traceback" not in res.stderr and not out.exists()


def test_set_changes_what_export_rule_and_show_rule_compile(tmp_path):
    base = cli("export-rule", "evidence-accumulation")
    dropped = cli("export-rule", "evidence-accumulation", "--set", "fixed_point.drop_alif_eps=true")
    assert base.returncode == dropped.returncode == 0
    assert "drop_alif_eps: false" in base.stdout and "drop_alif_eps: true" in dropped.stdout
    res = cli("show-rule", "pattern-generation", "--set", "network.n_rec=37")
    assert res.returncode == 0 and " 37 " in res.stdout


def test_set_on_quant_report_reaches_the_report(tmp_path):
    res = cli("quant-report", "pattern-generation", "--out", tmp_path / "q", "--iterations", 1,
              "--eval-trials", 1, "--quiet", *SMALL)
    assert res.returncode == 0, res.stderr
    report = json.loads((tmp_path / "q" / "quant_report.json").read_text())
    assert report["settings"]["n_steps"] == 60
    assert len(report["pairs"]["paper_vs_twin"]["membrane_rmse_per_step"]) == 60


def test_train_ends_with_the_held_out_result_time_and_files(tmp_path):
    out = tmp_path / "run"
    res = cli("train", "pattern-generation", "--iterations", 2, "--out", out, "--quiet", *SMALL)
    assert res.returncode == 0, res.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    first, second = res.stdout.strip().splitlines()
    assert f"held-out NMSE {metrics['initial_nmse']:.4g} -> {metrics['final_nmse']:.4g}" in first
    assert "after 2 iterations in" in first and first.endswith(" s")
    assert second.startswith(f"files in {out}: metrics.json, network.npz, loss.png")


def test_train_json_prints_one_line_with_the_metrics_and_files(tmp_path):
    out = tmp_path / "run"
    res = cli("train", "evidence-accumulation", "--iterations", 2, "--out", out, "--quiet",
              "--json", "--set", "task.delay=10", "--set", "task.n_cues=1",
              "--set", "network.n_rec=8", "--set", "network.n_adaptive=4", "--set", "training.eval_trials=4")
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 1
    summary = json.loads(res.stdout)
    metrics = json.loads((out / "metrics.json").read_text())
    assert summary["out_dir"] == str(out)
    assert summary["files"] == ["metrics.json", "network.npz", "loss.png", "raster.png",
                                "readout.png"]
    assert summary.pop("out_dir") and summary.pop("files")
    assert summary == {k: v for k, v in metrics.items() if k not in ("loss_curve", "eval_curve")}
    assert 0 <= summary["final_accuracy"] <= 1


@pytest.mark.lava  # run needs Lava's runtime
def test_run_prints_and_records_the_score_when_the_inputs_carry_labels(tmp_path):
    res = cli("train", "evidence-accumulation", "--engine", "fixed", "--iterations", 1,
              "--out", tmp_path / "t", "--quiet", "--set", "task.delay=10",
              "--set", "task.n_cues=1", "--set", "network.n_rec=8", "--set", "network.n_adaptive=4",
              "--set", "training.eval_trials=2")
    assert res.returncode == 0, res.stderr
    rng = np.random.default_rng(4)
    x = rng.random((3, 30, 40)) < 0.05
    labels = np.array([0, 1, 1])
    np.savez(tmp_path / "in.npz", inputs=x, targets=labels)
    res = cli("run", tmp_path / "t" / "network.npz", "--inputs", tmp_path / "in.npz",
              "--out", tmp_path / "o", "--no-compare")
    assert res.returncode == 0, res.stderr
    with np.load(tmp_path / "o" / "outputs.npz") as out:
        decided = out["readout"].mean(axis=1).argmax(axis=1)   # whole trial: no window set
    accuracy = float(np.mean(decided == labels))
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["score"] == {"accuracy": accuracy}
    assert res.stdout.splitlines()[0] == f"3 trials: accuracy {accuracy:.4g}"


def test_train_says_in_one_line_that_the_dataset_holds_fewer_evaluation_trials(tmp_path):
    np.savez(tmp_path / "d.npz", inputs=np.zeros((10, 5, 2), np.uint8),
             targets=np.arange(10) % 2)
    (tmp_path / "c.yaml").write_text("task: {name: dataset, path: d.npz}\n"
                                     "network: {n_rec: 4}\ntraining: {iterations: 1}\n")
    res = cli("train", tmp_path / "c.yaml", "--engine", "float", "--out", tmp_path / "run",
              "--quiet")
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines() == [
        f"warning: 256 evaluation trials asked for (training.eval_trials, quant-report "
        f"--eval-trials) but {tmp_path / 'd.npz'} has 2 held-out trials: evaluations use "
        "those 2"]
