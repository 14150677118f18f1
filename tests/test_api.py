"""The public Python API (``import lava_eprop``): the functions the CLI calls."""
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from support import cli

import lava_eprop
from lava_eprop.errors import UserError
from lava_eprop.inference import task_score
from lava_eprop.runs import held_out_points

SMALL = ["task.n_steps=60", "network.n_rec=10"]


def test_import_lava_eprop_loads_neither_lava_nor_torch_nor_matplotlib():
    code = ("import sys, lava_eprop; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'lava', 'torch', 'matplotlib', 'compilers'}))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert res.stdout.strip() == "[]"


def test_load_config_applies_settings_like_set():
    cfg = lava_eprop.load_config("pattern-generation", ["training.iterations=5",
                                                        "network.v_th=0.5"])
    assert (cfg.training.iterations, cfg.network.v_th) == (5, 0.5)
    assert lava_eprop.load_config(cfg, "training.seed=3").training.seed == 3
    with pytest.raises(UserError, match="unknown key 'training.iters'"):
        lava_eprop.load_config("pattern-generation", ["training.iters=5"])


def test_presets_name_every_preset_with_a_sentence():
    assert list(lava_eprop.presets()) == ["pattern-generation", "evidence-accumulation",
                                          "store-recall"]
    assert all(text.endswith(".") for text in lava_eprop.presets().values())


@pytest.mark.parametrize("engine", ["float", "fixed"])
def test_train_through_the_api_equals_the_cli_run(tmp_path, engine):
    res = cli("train", "pattern-generation", "--engine", engine, "--iterations", 3, "--seed", 4,
              "--out", tmp_path / "cli", "--quiet", *(a for s in SMALL for a in ("--set", s)))
    assert res.returncode == 0, res.stderr
    run = lava_eprop.train("pattern-generation", engine, seed=4, iterations=3, settings=SMALL,
                           progress=False)
    assert run.out_dir is None and run.files == ()
    metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    for key in ("loss_curve", "eval_curve", "initial_nmse", "final_nmse", "final_loss"):
        assert run.metrics[key] == metrics[key]
    with np.load(tmp_path / "cli" / "network.npz") as saved:
        for name, array in run.weights.as_dict().items():
            np.testing.assert_array_equal(array, saved[name])


def test_train_with_out_dir_writes_the_run_and_refuses_to_overwrite_it(tmp_path):
    run = lava_eprop.train("pattern-generation", out_dir=tmp_path / "r", iterations=2,
                           settings=SMALL, progress=False)
    assert run.files == ("metrics.json", "network.npz", "loss.png", "raster.png",
                         "readout.png")
    assert all((tmp_path / "r" / name).is_file() for name in run.files)
    net = lava_eprop.load_network(tmp_path / "r" / "network.npz")
    np.testing.assert_array_equal(net.weights.w_rec, run.weights.w_rec)
    assert net.config.to_dict() == run.config.to_dict()
    with pytest.raises(UserError, match="already holds a run"):
        lava_eprop.train("pattern-generation", out_dir=tmp_path / "r", iterations=2,
                         settings=SMALL, progress=False)


@pytest.mark.parametrize("engine", ["float", "fixed"])
def test_held_out_points_start_at_iteration_0_and_end_at_the_final_evaluation(engine):
    run = lava_eprop.train("pattern-generation", engine, iterations=5,
                           settings=[*SMALL, "training.eval_every=2"], progress=False)
    points = held_out_points(run.result)
    m = run.metrics
    assert points[0] == [0, m["initial_loss"], m["initial_nmse"]]
    assert [p[0] for p in points] == [0, 2, 4, 5]
    assert points[-1][1:] == [m["final_loss"], m["final_nmse"]]


@pytest.mark.parametrize("engine", ["float", "fixed"])
def test_the_progress_bar_shows_the_latest_loss_and_held_out_score(monkeypatch, engine):
    import tqdm

    import lava_eprop.training.common as trainer  # both engines' bars: its iteration_bar

    screen = io.StringIO()

    def visible(*args, **kwargs):        # a terminal that shows every update
        kwargs.update(file=screen, disable=False, mininterval=0, miniters=1)
        return tqdm.tqdm(*args, **kwargs)
    monkeypatch.setattr(trainer, "tqdm", visible)
    run = lava_eprop.train("pattern-generation", engine, iterations=3,
                           settings=[*SMALL, "training.eval_every=2"])
    frames = screen.getvalue().split("\r")
    initial, at_2 = run.metrics["initial_nmse"], run.metrics["eval_curve"][0]["score"]
    assert any(f"loss={run.metrics['loss_curve'][0]:.4g}, held_nmse={initial:.3g}" in f
               for f in frames)
    assert any(f"loss={run.metrics['loss_curve'][1]:.4g}, held_nmse={at_2:.3g}" in f
               for f in frames)


def test_task_score_of_hand_made_readouts():
    y = np.zeros((2, 3, 2))
    y[0, :, 1] = [0.0, 1.0, 1.0]          # trial 0 decides class 1 (mean 2/3 > 0)
    y[1, :, 0] = [5.0, -1.0, -1.0]        # trial 1: class 0 over all steps, 1 over the last 2
    labels = np.array([1, 1])
    assert task_score(y, labels, np.ones(3, bool)) == {"accuracy": 0.5}
    assert task_score(y, labels, np.array([False, True, True])) == {"accuracy": 1.0}
    signals = np.zeros((2, 3, 2))
    signals[:, :, 0] = [[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]
    # errors: trial 0 output 1 is 0, 1, 1 against 0 -> squares 0, 1, 1; target variance over
    # the 12 values (six of +-1, six 0) is 0.5; MSE = (sum of all squared errors) / 12
    errors = (y - signals) ** 2
    assert task_score(y, signals, np.ones(3, bool)) == {"nmse": errors.mean() / 0.5}


@pytest.mark.lava  # run needs Lava's runtime
def test_run_scores_targets_and_checks_the_fast_engine(tmp_path):
    trained = lava_eprop.train("pattern-generation", "fixed", iterations=1, settings=SMALL,
                               progress=False)
    x = np.random.default_rng(1).random((2, 40, 100)) < 0.05
    targets = np.random.default_rng(2).standard_normal((2, 40, 1))
    result = lava_eprop.run(trained.network, x, targets=targets)
    assert result.summary["fast_engine_identical"] is True and result.out_dir is None
    expected = np.mean((result.readout - targets) ** 2) / np.var(targets)
    assert result.score == {"nmse": pytest.approx(expected, rel=1e-12)}
    with pytest.raises(UserError, match=r"targets: must be integer labels \[2\]"):
        lava_eprop.run(trained.network, x, targets=np.zeros((2, 39, 1)))


@pytest.mark.lava  # load_rules builds Lava's Loihi3FLearningRule
def test_export_rules_writes_what_load_rules_reads(tmp_path):
    export = lava_eprop.export_rules("pattern-generation", tmp_path / "r.yaml",
                                     settings=["network.n_rec=20"])
    assert (tmp_path / "r.yaml").read_text() == export.text
    assert "recurrent->lif" in export.table
    rules = lava_eprop.load_rules(tmp_path / "r.yaml")
    assert set(rules) == set(export.learning_rules()) == {p.name for p in export.plan.projections}
    assert export.plan.groups[0].size == 20


def test_quant_report_with_out_dir_writes_the_report_and_checks_bounds(tmp_path):
    q = lava_eprop.quant_report("pattern-generation", tmp_path / "q", iterations=1,
                                eval_trials=1, task={"n_steps": 50}, settings=["network.n_rec=8"],
                                fail_over={"saturation.total": -1}, progress=False)
    assert q.files[0] == "quant_report.json" and "readouts.png" in q.files
    saved = json.loads((tmp_path / "q" / "quant_report.json").read_text())
    assert saved["settings"]["task_overrides"] == {"n_steps": 50}
    assert q.violations == saved["fail_over"]["violations"] and len(q.violations) == 1
    assert "twin_vs_fixed" in q.table


def test_missing_pytorch_names_an_install_path_that_exists(monkeypatch):
    from lava_eprop.reference import bptt

    monkeypatch.setitem(sys.modules, "torch", None)      # import torch raises ImportError
    with pytest.raises(UserError) as err:
        bptt._torch()
    assert "pip install -e '.[dl]'" in str(err.value) and "./scripts/test" in str(err.value)
    assert "pip install 'lava-eprop[dl]'" not in str(err.value)
