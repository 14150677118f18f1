"""The learning-rate schedule on chip: the host scales each trial's weight change.

Known values: ``lr_decay^(iteration // lr_decay_every)`` (the float
optimiser's schedule, as the presets state it); a change of 10 units scaled
by 1/4 is 2.5 units, so the host writes 2 or 3, with mean 2.5.
"""
from __future__ import annotations

import numpy as np

from lava_eprop import config
from lava_eprop.tasks import make_task
from lava_eprop.training import onchip as train_module
from lava_eprop.training.common import lr_factor
from lava_eprop.training.onchip import scale_trial_change, train_fixed

SMALL = {"task": {"name": "pattern-generation", "n_in": 12, "n_steps": 60},
         "network": {"n_rec": 12},
         "training": {"iterations": 5, "eval_trials": 1, "eval_every": 5,
                      "lr_decay": 0.5, "lr_decay_every": 2}}


def test_scaled_change_is_exact_in_expectation_and_stays_integer():
    before = {"w": np.zeros((100, 100), np.int64)}
    after = {"w": np.full((100, 100), 10, np.int64)}
    out = scale_trial_change(before, after, 0.25, seed=0, trial=3)["w"]
    assert out.dtype == np.int64 and set(np.unique(out)) == {2, 3}
    assert abs(out.mean() - 2.5) < 5 * 0.5 / 100         # binomial: sd 0.5 per synapse
    negative = scale_trial_change(before, {"w": -after["w"]}, 0.25, seed=0, trial=3)["w"]
    assert set(np.unique(negative)) == {-3, -2}
    assert scale_trial_change(before, after, 1.0, 0, 0) is after


def test_schedule_factor_is_the_float_optimisers():
    t = config.from_dict(SMALL).training
    assert [lr_factor(t, it) for it in range(5)] == [1, 1, 0.5, 0.5, 0.25]


def test_on_chip_training_scales_each_trials_change_by_the_schedule(monkeypatch):
    seen = []
    original = train_module.scale_trial_change

    def spy(before, after, factor, seed, trial):
        seen.append((trial, factor))
        return original(before, after, factor, seed, trial)

    monkeypatch.setattr(train_module, "scale_trial_change", spy)
    cfg = config.from_dict(SMALL)
    train_fixed(cfg, make_task(cfg), progress=False)
    assert seen == [(0, 1.0), (1, 1.0), (2, 0.5), (3, 0.5), (4, 0.25)]


def test_set_overrides_keys_and_refuses_bad_ones_in_one_line():
    import pytest

    from lava_eprop.errors import UserError
    cfg = config.load("evidence-accumulation").with_settings(
        ["training.batch_size=1", "fixed_point.rounding=stochastic", "task.delay=100",
         "fixed_point.learning_rate=null"])
    assert cfg.training.batch_size == 1 and cfg.fixed_point.rounding == "stochastic"
    assert cfg.task["delay"] == 100 and cfg.fixed_point.learning_rate is None
    for bad, says in [("training.batch_size", "SECTION.KEY=VALUE"),
                      ("bogus.key=1", "unknown section 'bogus'"),
                      ("training.nope=1", "nope"),
                      ("training.batch_size=0", "training.batch_size"),
                      ("task.name=store-recall", "cannot be changed")]:
        with pytest.raises(UserError, match=says) as err:
            config.load("evidence-accumulation").with_settings([bad])
        assert "\n" not in str(err.value)


def test_chip_regime_gives_the_float_model_the_chips_rate_in_float_units():
    """EA's float loss averages the error over the recall window (150 steps), the
    chip sums it: the chip's 0.005 is 0.75 in float units; regression keeps eta."""
    from lava_eprop.training.onchip import chip_regime

    ea = config.load("evidence-accumulation")
    assert ea.task["recall_duration"] == 150
    floated = chip_regime(ea, make_task(ea), "float").training
    assert (floated.learning_rate, floated.batch_size, floated.optimizer, floated.update) == \
        (0.005 * 150, 1, "sgd", ea.training.update)
    online = ea.with_settings(["training.update=online"])
    assert chip_regime(online, make_task(online), "float").training.update == "online"
    assert (floated.lr_decay, floated.seed) == (ea.training.lr_decay, ea.training.seed)
    chip = chip_regime(ea, make_task(ea), "fixed")
    assert chip.training.batch_size == 1 and chip.fixed_point.learning_rate is None
    pg = config.from_dict(SMALL)
    assert chip_regime(pg, make_task(pg), "float").training.learning_rate == \
        pg.training.learning_rate


def test_cli_chip_regime_trains_one_trial_per_iteration_on_both_engines(tmp_path):
    import json

    from lava_eprop.cli import main

    cfg = tmp_path / "pg.yaml"
    cfg.write_text("task: {name: pattern-generation, n_in: 12, n_steps: 60}\n"
                   "network: {n_rec: 12}\ntraining: {iterations: 2, batch_size: 4, "
                   "eval_trials: 1, eval_every: 2}\n")
    for engine in ("float", "fixed"):
        try:
            main(["train", str(cfg), "--engine", engine, "--chip-regime", "--quiet",
                  "--out", str(tmp_path / engine)])
        except SystemExit as exit_:
            assert exit_.code in (0, None)
        metrics = json.loads((tmp_path / engine / "metrics.json").read_text())
        assert metrics["chip_regime"] is True and metrics["batch_size"] == 1
