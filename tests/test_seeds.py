"""``lava-eprop train --seeds`` / ``--sweep`` and ``lava_eprop.train_seeds``: every
instance is exactly its single run; the summary's statistics are those of the runs."""
import json

import numpy as np
import pytest
from support import TIMING_METRICS, assert_same_run, cli, main_in_process

import lava_eprop
from lava_eprop.errors import UserError

SMALL = ("--set", "task.n_steps=100", "--set", "network.n_rec=20", "--set", "task.n_in=20")
SMALL_SETTINGS = [s for s in SMALL if s != "--set"]


def _train(*args):
    """``lava-eprop train pattern-generation ARGS`` on the small task, as a user runs it."""
    res = cli("train", "pattern-generation", "--iterations", 3, *SMALL, "--quiet", *args)
    assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="module", params=["float", "fixed"])
def seeds_and_singles(request, tmp_path_factory):
    """``--seeds 0,1`` in a pool of two processes, and the single runs ``--seed 0``,
    ``--seed 1``, for the engine ``request.param``."""
    engine = request.param
    base = tmp_path_factory.mktemp(engine)
    res = _train("--engine", engine, "--seeds", "0,1", "--jobs", 2, "--json", "--out",
                 base / "multi")
    for seed in (0, 1):
        _train("--engine", engine, "--seed", seed, "--out", base / f"single-{seed}")
    return base, res.stdout


def _metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def test_each_seed_gives_exactly_the_weights_and_metrics_of_its_single_run(
        seeds_and_singles):
    base, _ = seeds_and_singles
    for seed in (0, 1):
        multi, single = base / "multi" / f"seed-{seed}", base / f"single-{seed}"
        with np.load(multi / "network.npz") as a, np.load(single / "network.npz") as b:
            assert sorted(a.files) == sorted(b.files)
            for key in a.files:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        ma, mb = _metrics(multi), _metrics(single)
        for key in TIMING_METRICS:
            ma.pop(key), mb.pop(key)
        assert ma == mb and ma["seed"] == seed
    a, b = (np.load(base / "multi" / f"seed-{s}" / "network.npz")["w_rec"] for s in (0, 1))
    assert not np.array_equal(a, b)            # the seeds differ


def test_summary_statistics_are_numpys_over_the_runs_final_metrics(seeds_and_singles):
    base, _ = seeds_and_singles
    summary = json.loads((base / "multi" / "summary.json").read_text())
    runs = [_metrics(base / f"single-{seed}") for seed in (0, 1)]
    assert summary["seeds"] == [0, 1] and summary["sweep"] is None
    assert summary["score"] == "final_nmse"
    assert [(r["name"], r["seed"], r["final_nmse"]) for r in summary["instances"]] == \
        [(f"seed-{s}", s, m["final_nmse"]) for s, m in zip((0, 1), runs)]
    [group] = summary["groups"]
    for key in ("initial_nmse", "final_nmse", "final_loss", "mean_rate_hz"):
        values = [m[key] for m in runs]
        assert group["stats"][key] == pytest.approx(
            {"mean": np.mean(values), "std": np.std(values, ddof=1), "min": min(values),
             "max": max(values), "n": 2}, rel=1e-12, abs=0)
    assert (base / "multi" / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_seeds_json_prints_one_line_the_summary_and_where_the_files_are(seeds_and_singles):
    base, stdout = seeds_and_singles
    [line] = stdout.strip().splitlines()
    printed = json.loads(line)
    summary = json.loads((base / "multi" / "summary.json").read_text())
    assert {k: v for k, v in printed.items() if k not in ("out_dir", "files")} == summary
    assert printed["out_dir"] == str(base / "multi")
    assert {"summary.json", "summary.png", "seed-0/", "seed-1/"} <= set(printed["files"])


def test_seeds_table_shows_each_seed_and_the_mean_and_spread(tmp_path):
    res = _train("--seeds", "3,4", "--jobs", 1, "--out", tmp_path / "m")
    lines = res.stdout.splitlines()
    finals = [_metrics(tmp_path / "m" / f"seed-{s}")["final_nmse"] for s in (3, 4)]
    assert any(line.split()[:2] == ["3", f"{finals[0]:.4g}"] for line in lines)
    assert any(line.split()[:2] == ["4", f"{finals[1]:.4g}"] for line in lines)
    assert f"NMSE {np.mean(finals):.4g} ± {np.std(finals, ddof=1):.2g}" in res.stdout


def test_sweep_runs_each_value_as_set_would_and_groups_the_summary(tmp_path):
    code, err = main_in_process("train", "pattern-generation", "--iterations", 2, *SMALL,
                                "--quiet", "--seeds", "0", "--jobs", 1, "--sweep",
                                "training.learning_rate=0.001,0.01", "--out", tmp_path / "w")
    assert code == 0, err
    code, err = main_in_process("train", "pattern-generation", "--iterations", 2, *SMALL,
                                "--quiet", "--set", "training.learning_rate=0.01", "--seed", 0,
                                "--out", tmp_path / "single")
    assert code == 0, err
    assert_same_run(tmp_path / "single", tmp_path / "w" / "training.learning_rate=0.01" / "seed-0")
    summary = json.loads((tmp_path / "w" / "summary.json").read_text())
    assert summary["sweep"] == {"key": "training.learning_rate", "values": [0.001, 0.01]}
    assert [g["value"] for g in summary["groups"]] == [0.001, 0.01]
    assert [r["value"] for r in summary["instances"]] == [0.001, 0.01]


def test_resume_keeps_finished_runs_and_continues_the_others_bit_for_bit(tmp_path):
    args = ("train", "pattern-generation", "--iterations", 6, *SMALL, "--quiet", "--seeds",
            "0,1", "--jobs", 1, "--checkpoint-every", 4)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    for out in (whole, cut):
        code, err = main_in_process(*args, "--out", out)
        assert code == 0, err
    # seed 1 "killed" after its checkpoint at iteration 4; seed 0 finished
    for name in ("metrics.json", "network.npz", "loss.png", "raster.png", "readout.png"):
        (cut / "seed-1" / name).unlink()
    (cut / "summary.json").unlink()
    kept = (cut / "seed-0" / "metrics.json").stat().st_mtime_ns
    code, err = main_in_process(*args, "--out", cut, "--resume", cut)
    assert code == 0, err
    assert (cut / "seed-0" / "metrics.json").stat().st_mtime_ns == kept
    for seed in (0, 1):
        assert_same_run(whole / f"seed-{seed}", cut / f"seed-{seed}")
    finals = [json.loads((d / "summary.json").read_text())["groups"][0]["stats"]["final_nmse"]
              for d in (whole, cut)]
    assert finals[0] == finals[1]


def test_resume_refuses_other_seeds_than_the_interrupted_runs(tmp_path):
    out = tmp_path / "m"
    code, err = main_in_process("train", "pattern-generation", "--iterations", 1, *SMALL,
                                "--quiet", "--seeds", "0", "--jobs", 1, "--out", out)
    assert code == 0, err
    code, err = main_in_process("train", "pattern-generation", "--iterations", 1, *SMALL,
                                "--quiet", "--seeds", "0,1", "--out", out, "--resume", out)
    assert code == 2 and "holds runs of another config, seed list" in err
    code, err = main_in_process("train", "pattern-generation", "--iterations", 1, *SMALL,
                                "--quiet", "--seeds", "0", "--out", out)
    assert code == 2 and "already holds a multi-seed run" in err


@pytest.mark.parametrize("args, message", [
    (("--seeds", "0,1", "--seed", "0"), "--seeds with --seed (allowed: one of them"),
    (("--seeds", "a,b"), "--seeds: 'a' is not an integer (allowed: distinct integers"),
    (("--seeds", ""), "--seeds is empty (allowed: distinct integers"),
    (("--seeds", "0,1,0"), "--seeds: seed 0 appears twice (allowed: distinct integers"),
    (("--seeds=-1",), "--seeds: -1 is negative (allowed: distinct integers 0..4294967295"),
    (("--seeds", "4294967296"), "--seeds: 4294967296 is too large (allowed"),
    (("--jobs", "2"), "--jobs without --seeds or --sweep (allowed"),
    (("--seeds", "0", "--resume", "elsewhere"), "must name the --out directory"),
    (("--sweep", "training.seed=1,2"), "use --seeds for seeds"),
    (("--sweep", "learning_rate=1,2"), "is malformed (allowed: SECTION.KEY=V1,V2"),
    (("--sweep", "training.learning_rate=0.1,0.1"), "'0.1' appears twice"),
    (("--sweep", "training.iterations=1,2", "--iterations", "3"),
     "--sweep training.iterations with --iterations (allowed: one of them)"),
])
def test_bad_seed_options_are_one_line_errors_naming_what_is_allowed(tmp_path, args, message):
    code, err = main_in_process("train", "pattern-generation", "--out", tmp_path / "o",
                                *args)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_failing_run_names_its_instance(tmp_path):
    code, err = main_in_process("train", "pattern-generation", "--iterations", 1, *SMALL,
                                "--seeds", "0,1", "--jobs", 2, "--init", tmp_path / "no.npz",
                                "--out", tmp_path / "o", "--quiet")
    assert code == 2 and err.startswith("error: seed-0: ") and err.count("\n") == 1


def test_train_seeds_returns_each_runs_weights_as_train_does():
    runs = lava_eprop.train_seeds("pattern-generation", "fixed", seeds="2,5", iterations=2,
                                  settings=SMALL_SETTINGS, jobs=2, progress=False)
    assert [i.seed for i in runs.instances] == [2, 5] and runs.out_dir is None
    for seed, run in zip((2, 5), runs.runs):
        single = lava_eprop.train("pattern-generation", "fixed", seed=seed, iterations=2,
                                  settings=SMALL_SETTINGS, progress=False)
        for key in ("w_in", "w_rec", "w_out", "b_out", "fb"):
            np.testing.assert_array_equal(getattr(run.weights, key),
                                          getattr(single.weights, key))
        assert run.metrics["final_nmse"] == single.metrics["final_nmse"]
    with pytest.raises(UserError, match="appears twice"):
        lava_eprop.train_seeds("pattern-generation", seeds=[1, 1], progress=False)


@pytest.mark.lava
def test_a_seed_on_the_lava_graph_gives_exactly_its_single_run(tmp_path):
    small = ("--iterations", 1, "--set", "task.n_steps=50", "--set", "network.n_rec=10",
             "--set", "task.n_in=10", "--engine", "lava", "--quiet")
    for args in (("--seeds", "0,1", "--jobs", 2, "--out", tmp_path / "multi"),
                 ("--seed", 1, "--out", tmp_path / "single")):
        res = cli("train", "pattern-generation", *small, *args)
        assert res.returncode == 0, res.stderr
    assert_same_run(tmp_path / "single", tmp_path / "multi" / "seed-1")


class _Bar:
    """A stand-in for tqdm's bar in the parent process: what it counted."""

    def __init__(self, *args, total=None, initial=0, **kwargs):
        self.total, self.initial, self.n, self.updates = total, initial, initial, []

    def update(self, n=1):
        self.n += n
        self.updates.append(n)

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_progress_bar_counts_every_runs_iterations(jobs, monkeypatch, tmp_path):
    """The bar of ``train --seeds`` advances by iteration, not by finished run: two
    runs of 4 iterations count 8, in a pool of two workers as in one process,
    and a resumed multi-run starts from what its finished runs did."""
    import lava_eprop.training.common  # noqa: F401  (binds the real tqdm for the runs' bars)
    bars = []
    monkeypatch.setattr("tqdm.tqdm", lambda *a, **k: bars.append(_Bar(*a, **k)) or bars[-1])
    kwargs = dict(seeds="0,1", iterations=4, settings=SMALL_SETTINGS, jobs=jobs)
    lava_eprop.train_seeds("pattern-generation", "float", tmp_path / "m", **kwargs)
    assert (bars[0].total, bars[0].initial, bars[0].n) == (8, 0, 8)
    assert min(bars[0].updates) >= 0
    (tmp_path / "m" / "summary.json").unlink()
    for name in ("metrics.json", "network.npz"):            # seed 1 did not finish
        (tmp_path / "m" / "seed-1" / name).unlink()
    lava_eprop.train_seeds("pattern-generation", "float", tmp_path / "m", resume=True, **kwargs)
    assert (bars[1].total, bars[1].initial, bars[1].n) == (8, 4, 8)
