"""The trained-network file: round trip, byte identity, refusals."""
import zipfile

import numpy as np
import pytest

from lava_eprop import config
from lava_eprop.errors import UserError
from lava_eprop.network_file import TrainedNetwork, load_network, save_network
from lava_eprop.reference.params import init_weights


@pytest.fixture
def net():
    cfg = config.load("store-recall")
    w = init_weights(cfg, 40, 2, np.random.default_rng(3))
    return TrainedNetwork(cfg, w, "float")


def test_save_load_save_is_byte_identical(tmp_path, net):
    save_network(tmp_path / "a.npz", net)
    loaded = load_network(tmp_path / "a.npz")
    save_network(tmp_path / "b.npz", loaded)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert loaded.config.to_dict() == net.config.to_dict() and loaded.engine == "float"
    np.testing.assert_array_equal(loaded.weights.w_rec, net.weights.w_rec)


def rewrite(path, out, **changes):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    np.savez(out, **{k: v for k, v in arrays.items() if v is not None})


@pytest.mark.parametrize("changes,message", [
    ({"schema_version": np.array(2)}, "schema version 2 is not supported .* reads version 1"),
    ({"w_rec": np.zeros((3, 3))}, r"'w_rec' must have shape \[100, 100\] and dtype float"),
    ({"w_out": np.full((2, 100), np.nan)}, "'w_out' holds NaN, Inf"),
    ({"fb": None}, "missing 'fb'"),
    ({"config_yaml": np.array("task: {name: nope}")}, "task.name = 'nope' is not allowed"),
])
def test_inconsistent_files_are_refused_in_one_line(tmp_path, net, changes, message):
    save_network(tmp_path / "a.npz", net)
    rewrite(tmp_path / "a.npz", tmp_path / "bad.npz", **changes)
    with pytest.raises(UserError, match=message) as info:
        load_network(tmp_path / "bad.npz")
    assert "\n" not in str(info.value)


def test_corrupted_and_missing_files_are_refused(tmp_path, net):
    save_network(tmp_path / "a.npz", net)
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="not a readable network file"):
        load_network(tmp_path / "cut.npz")
    with pytest.raises(UserError, match="does not exist"):
        load_network(tmp_path / "absent.npz")


def test_save_writes_atomically(tmp_path, net, monkeypatch):
    save_network(tmp_path / "a.npz", net)
    before = (tmp_path / "a.npz").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError):
        save_network(tmp_path / "a.npz", net)
    assert (tmp_path / "a.npz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]


def test_written_files_get_the_permissions_open_gives(tmp_path, net):
    """Atomic writes go through mkstemp (owner-only 0o600); the renamed file must
    have what a plain open() in the same directory gets under the same umask."""
    import os
    old = os.umask(0o022)
    try:
        (tmp_path / "plain022").write_text("x")
        save_network(tmp_path / "a.npz", net)
        assert (tmp_path / "a.npz").stat().st_mode & 0o777 == \
            (tmp_path / "plain022").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
