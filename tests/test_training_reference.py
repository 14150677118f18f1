"""Training loop behaviour: feedback modes, online vs batch updates, schedules."""
import numpy as np
import pytest

from lava_eprop import config
from lava_eprop.tasks import make_task
from lava_eprop.training.reference import _Updater, train_float


def small(feedback="symmetric", **training):
    raw = {"task": {"name": "pattern-generation", "n_in": 20, "n_steps": 100},
           "network": {"n_rec": 20, "v_th": 0.03, "tau_m": 30.0, "input_scaling": True,
                       "tau_out": 30.0},
           "training": {"feedback": feedback, "optimizer": "sgd", "learning_rate": 1e-3,
                        "iterations": 1, "eval_trials": 1, **training}}
    cfg = config.from_dict(raw)
    return cfg, make_task(cfg)


def test_adaptive_feedback_gets_the_readout_update_transposed():
    cfg, task = small("adaptive")
    r = train_float(cfg, task, progress=False)
    d_fb = r.weights.fb - r.initial_weights.fb
    d_out = r.weights.w_out - r.initial_weights.w_out
    assert np.abs(d_out).max() > 0
    np.testing.assert_allclose(d_fb, d_out.T, rtol=1e-12, atol=1e-15)
    assert not np.allclose(r.weights.fb, r.weights.w_out.T)


def test_random_feedback_stays_fixed_and_symmetric_tracks_the_readout():
    r = train_float(*small("random"), progress=False)
    np.testing.assert_array_equal(r.weights.fb, r.initial_weights.fb)
    r = train_float(*small("symmetric"), progress=False)
    np.testing.assert_array_equal(r.weights.fb, r.weights.w_out.T)


def test_online_updates_approach_the_batch_update_for_small_learning_rates():
    changes = {}
    for update in ("online", "batch"):
        r = train_float(*small("symmetric", update=update, learning_rate=1e-7), progress=False)
        changes[update] = r.weights.w_in - r.initial_weights.w_in
    diff = np.abs(changes["online"] - changes["batch"]).max()
    assert 0 < diff < 1e-3 * np.abs(changes["batch"]).max()


def test_learning_rate_decays_stepwise():
    cfg, _ = small(lr_decay=0.5, lr_decay_every=3, learning_rate=0.1)
    r = train_float(cfg, make_task(cfg), progress=False)
    updater = _Updater(r.weights, cfg)
    rates = []
    for it in range(7):
        updater.set_iteration(it)
        rates.append(updater.opt.lr)
    np.testing.assert_allclose(rates, [0.1] * 3 + [0.05] * 3 + [0.025])


def test_different_seeds_give_different_networks():
    cfg, task = small()
    a = train_float(cfg, task, progress=False)
    b = train_float(cfg.with_overrides(seed=1), task, progress=False)
    assert not np.array_equal(a.weights.w_rec, b.weights.w_rec)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_keeps_the_requested_precision(dtype):
    r = train_float(*small(dtype=dtype, iterations=2), progress=False)
    assert r.weights.w_in.dtype == np.dtype(dtype)
