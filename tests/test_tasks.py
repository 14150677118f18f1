"""Task generators and the .npz dataset loader."""
import warnings

import numpy as np
import pytest

from lava_eprop import config
from lava_eprop.errors import UserError, UserInputWarning
from lava_eprop.tasks import make_task


def task_of(name, **task):
    return make_task(config.from_dict({"task": {"name": name, **task}}))


def test_pattern_generation_is_frozen_and_normalised():
    task = task_of("pattern-generation", n_out=2)
    a = task.sample(2, np.random.default_rng(0))
    b = task.sample(1, np.random.default_rng(99))
    np.testing.assert_array_equal(a.inputs[0], b.inputs[0])
    np.testing.assert_array_equal(a.inputs[0], a.inputs[1])
    assert a.targets.shape == (2, 1000, 2)
    np.testing.assert_allclose(np.abs(a.targets[0]).max(axis=0), 1.0)
    np.testing.assert_allclose(a.targets[0, 0], 0.0)
    rate = a.inputs.mean() * 1000.0
    assert 45 < rate < 55  # 50 Hz Poisson over 100 x 1000 samples


def test_evidence_accumulation_label_is_the_side_with_more_cues():
    task = task_of("evidence-accumulation", input_rate_hz=1000.0, delay=20)
    batch = task.sample(64, np.random.default_rng(1))
    assert task.n_steps == 50 + 6 * 150 + 100 + 20 + 150
    group = 10
    for b in range(64):
        # at rate 1 kHz every active channel fires every step: read the cues back
        counts = [0, 0]
        for k in range(7):
            start = 50 + 150 * k
            window = batch.inputs[b, start:start + 100]
            side = int(window[:, group:2 * group].sum() > window[:, :group].sum())
            counts[side] += 1
        assert batch.targets[b, 0] == int(counts[1] > counts[0])
    assert batch.mask[:, -150:].all() and not batch.mask[:, :-150].any()
    labels = batch.targets[:, 0]
    assert 0 < labels.mean() < 1


def test_store_recall_label_is_the_bit_shown_with_the_store_cue():
    task = task_of("store-recall", input_rate_hz=1000.0, n_in=10)
    batch = task.sample(32, np.random.default_rng(2))
    for b in range(32):
        x = batch.inputs[b].reshape(task.n_windows, task.window, 10)
        store = np.flatnonzero(x[:, :, 0].sum(1) > 0)
        recall = np.flatnonzero(x[:, :, 2].sum(1) > 0)
        assert len(store) == 1 and len(recall) == 1 and recall[0] > store[0]
        bit = int(x[store[0], :, 6].sum() > x[store[0], :, 4].sum())
        assert batch.targets[b, 0] == bit
        assert batch.mask[b].reshape(task.n_windows, -1)[recall[0]].all()
        assert batch.mask[b].sum() == task.window


def test_held_out_set_is_fixed_per_seed():
    task = task_of("evidence-accumulation")
    a, b = task.held_out(4, 7), task.held_out(4, 7)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    assert not np.array_equal(a.inputs, task.held_out(4, 8).inputs)


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def dataset(path, **task):
    return make_task(config.from_dict({"task": {"name": "dataset", "path": str(path), **task}}))


def test_dataset_classification_and_regression_load(tmp_path):
    x = np.random.default_rng(0).random((10, 30, 4))
    cls = dataset(write_npz(tmp_path / "c.npz", inputs=x, targets=np.arange(10) % 3),
                  decision_window=5)
    assert (cls.kind, cls.n_in, cls.n_out, cls.n_steps) == ("classification", 4, 3, 30)
    batch = cls.sample(6, np.random.default_rng(0))
    assert batch.mask[:, -5:].all() and not batch.mask[:, :-5].any()
    assert len(cls.held_idx) == 2 and not set(cls.held_idx) & set(cls.train_idx)
    reg = dataset(write_npz(tmp_path / "r.npz", inputs=x, targets=x[..., :2]))
    assert (reg.kind, reg.n_out) == ("regression", 2)


def test_dataset_path_is_relative_to_the_config_file(tmp_path):
    write_npz(tmp_path / "d.npz", inputs=np.zeros((4, 5, 2)), targets=np.array([0, 1, 0, 1]))
    (tmp_path / "c.yaml").write_text("task:\n  name: dataset\n  path: d.npz\n")
    assert make_task(config.load(tmp_path / "c.yaml")).n_steps == 5


BAD_ARRAYS = [
    (dict(inputs=np.zeros((4, 5)), targets=np.zeros(4)), r"'inputs' must have shape \[N, T"),
    (dict(inputs=np.zeros((4, 5, 2)), targets=np.zeros(3)), "3 labels for 4 inputs"),
    (dict(inputs=np.zeros((4, 5, 2)), targets=np.zeros((4, 6, 1))), "to match 'inputs'"),
    (dict(inputs=np.zeros((4, 5, 2)), targets=np.zeros((4, 5))), r"\[N\] .* or \[N, T, n_out\]"),
    (dict(inputs=np.full((4, 5, 2), np.nan), targets=np.zeros(4)), "NaN or Inf"),
    (dict(inputs=np.zeros((4, 5, 2)), targets=np.array([0.5, 1, 0, 1])), "must be integers"),
    (dict(inputs=np.zeros((4, 5, 2)), targets=np.array([-1, 1, 0, 1])), "labels must be in"),
    (dict(inputs=np.zeros((1, 5, 2)), targets=np.zeros(1)), "at least 2 samples"),
    (dict(inputs=np.zeros((4, 5, 2))), "missing array 'targets'"),
    (dict(inputs=np.array([["a"]]), targets=np.zeros(1)), "'inputs' must have shape"),
]


@pytest.mark.parametrize("arrays,message", BAD_ARRAYS)
def test_bad_dataset_is_refused_with_one_line(tmp_path, arrays, message):
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError, match=message) as info:
        dataset(path)
    assert "\n" not in str(info.value)


def test_corrupted_or_missing_dataset_file_is_refused(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="not a readable .npz file"):
        dataset(tmp_path / "junk.npz")
    with pytest.raises(UserError, match="does not exist"):
        dataset(tmp_path / "absent.npz")


def test_decision_window_longer_than_the_data_is_refused(tmp_path):
    path = write_npz(tmp_path / "d.npz", inputs=np.zeros((4, 5, 2)), targets=np.zeros(4, int))
    with pytest.raises(UserError, match="decision_window = 9 exceeds the 5 steps"):
        dataset(path, decision_window=9)


BAD_HELD_OUT = [
    (np.array([1, 4]), r"'held_out' index 4 is out of range \(allowed: trial indices 0..3"),
    (np.array([-1]), "'held_out' index -1 is out of range"),
    (np.array([2, 0, 2]), "'held_out' lists trial 2 more than once"),
    (np.array([True, False]), r"'held_out' mask has shape \[2\] for 4 trials"),
    (np.zeros(4, bool), "holds out 0 of the 4 trials"),
    (np.array([0, 1, 2, 3]), "holds out 4 of the 4 trials"),
    (np.array([0.0, 1.0]), "array 'held_out' must have .* got float64"),
]


@pytest.mark.parametrize("held,message", BAD_HELD_OUT)
def test_a_bad_held_out_split_is_refused_with_one_line(tmp_path, held, message):
    path = write_npz(tmp_path / "d.npz", inputs=np.zeros((4, 5, 2)), targets=np.zeros(4, int),
                     held_out=held)
    with pytest.raises(UserError, match=message) as info:
        dataset(path)
    assert "\n" not in str(info.value)


def test_a_held_out_split_in_the_file_replaces_the_random_one(tmp_path):
    x = np.zeros((6, 5, 2))
    by_index = dataset(write_npz(tmp_path / "i.npz", inputs=x, targets=np.zeros(6, int),
                                 held_out=np.array([4, 1])), held_out_fraction=0.5)
    assert by_index.held_idx.tolist() == [4, 1] and by_index.train_idx.tolist() == [0, 2, 3, 5]
    mask = np.array([False, True, False, False, True, False])
    by_mask = dataset(write_npz(tmp_path / "m.npz", inputs=x, targets=np.zeros(6, int),
                                held_out=mask))
    assert by_mask.held_idx.tolist() == [1, 4] and by_mask.train_idx.tolist() == [0, 2, 3, 5]


def test_unshuffled_trials_come_in_file_order_cycling_and_ignore_the_generator(tmp_path):
    x = np.arange(5.0)[:, None, None] * np.ones((5, 2, 1))     # trial i holds the value i
    task = dataset(write_npz(tmp_path / "d.npz", inputs=x, targets=np.zeros(5, int),
                             held_out=np.array([2])), shuffle=False)
    seen = [task.sample(3, np.random.default_rng(k)).inputs[:, 0, 0].tolist() for k in range(3)]
    assert seen == [[0, 1, 3], [4, 0, 1], [3, 4, 0]]
    task.seek(2)
    assert task.sample(2, np.random.default_rng(0)).inputs[:, 0, 0].tolist() == [3, 4]


def test_more_evaluation_trials_than_held_out_are_said_and_all_held_out_used(tmp_path):
    task = dataset(write_npz(tmp_path / "d.npz", inputs=np.zeros((10, 5, 2)),
                             targets=np.arange(10) % 2), held_out_fraction=0.2)
    with pytest.warns(UserInputWarning, match=r"^64 evaluation trials asked for .* has 2 "
                                              r"held-out trials: evaluations use those 2$"):
        assert task.held_out(64, 0).size == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert task.held_out(2, 0).size == 2


def test_a_dataset_config_leaving_keys_out_gets_the_dataset_defaults():
    """The values docs/own-data.md states; other tasks keep the schema's defaults."""
    cfg = config.from_dict({"task": {"name": "dataset", "path": "d.npz"},
                            "training": {"batch_size": 4}})
    net, train = cfg.network, cfg.training
    assert (net.neuron, net.refractory_steps) == ("alif", 5)
    assert (train.learning_rate, train.reg_coeff, train.reg_rate_hz, train.eval_trials) == (
        0.02, 1.0, 20.0, 256)
    assert cfg.fixed_point.weight_range == 16.0
    assert train.batch_size == 4                                     # a given key wins
    other = config.from_dict({"task": {"name": "store-recall"}})
    assert (other.network.neuron, other.training.learning_rate, other.training.batch_size,
            other.fixed_point.weight_range) == ("lif", 0.001, 1, 4.0)
    assert config.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()
