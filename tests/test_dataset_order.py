"""A dataset served in file order with a fixed held-out split: the trials the
trainers see, in the order they see them, and the trials they evaluate on."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from lava_eprop import config
from lava_eprop.tasks import make_task
from lava_eprop.training.onchip import train_fixed
from lava_eprop.training.reference import train_float

N, STEPS, N_IN = 10, 12, 4
HELD = [7, 2, 5]
# training trials in file order: 0 1 3 4 6 8 9, then from the first again
TRAIN_ORDER = [0, 1, 3, 4, 6, 8, 9, 0, 1, 3]
TRAINERS = {"float": train_float, "fixed": train_fixed}


def spikes():
    """0/1 inputs whose trials all differ, so a trial is known by its inputs."""
    x = (np.random.default_rng(0).random((N, STEPS, N_IN)) < 0.3).astype(np.int8)
    assert len({row.tobytes() for row in x}) == N
    return x


def config_for(path, iterations=5):
    return config.from_dict({
        "task": {"name": "dataset", "path": str(path), "shuffle": False,
                 "decision_window": 4},
        "network": {"n_rec": 8, "v_th": 0.1},
        "training": {"batch_size": 2, "iterations": iterations, "eval_every": 2,
                     "learning_rate": 0.01},
        "fixed_point": {"input_rate_hz": 300.0}})


def recording(task, x):
    """``task`` whose sample() appends the file index of every trial it serves."""
    seen, sample = [], task.sample
    rows = {row.tobytes(): i for i, row in enumerate(x)}

    def sample_and_record(size, rng):
        batch = sample(size, rng)
        seen.extend(rows[row.astype(np.int8).tobytes()] for row in batch.inputs)
        return batch

    task.sample = sample_and_record
    return task, seen


@pytest.fixture
def data(tmp_path):
    x = spikes()
    path = tmp_path / "d.npz"
    np.savez(path, inputs=x, targets=np.arange(N) % 2, held_out=np.array(HELD))
    return path, x


@pytest.mark.parametrize("engine", ["float", "fixed"])
def test_unshuffled_training_sees_the_training_trials_in_file_order(data, engine):
    path, x = data
    cfg = config_for(path)
    task, seen = recording(make_task(cfg), x)
    result = TRAINERS[engine](cfg, task, progress=False)
    assert seen == TRAIN_ORDER
    for evaluation in (result.initial, result.final):       # exactly the held-out trials
        np.testing.assert_array_equal(evaluation.batch.inputs, x[HELD])


def test_a_resumed_unshuffled_run_continues_where_its_checkpoint_was(data):
    path, x = data
    cfg = config_for(path)
    states = []
    whole = train_float(cfg, make_task(cfg), progress=False, checkpoint_every=2,
                        checkpoint=lambda s: states.append(copy.deepcopy(s)))
    task, seen = recording(make_task(cfg), x)
    resumed = train_float(cfg, task, progress=False, resume=states[0])
    assert seen == TRAIN_ORDER[4:]
    for name in ("w_in", "w_rec", "w_out"):
        np.testing.assert_array_equal(getattr(resumed.weights, name),
                                      getattr(whole.weights, name))
