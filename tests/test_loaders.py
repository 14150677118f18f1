"""The checked reading layer: hostile YAML and .npz files are refused in one line
before anything large is allocated (issue 19, classes 1-4)."""
import io
import struct
import zipfile

import numpy as np
import pytest
from support import main_in_process

from compilers import load_document
from lava_eprop import config
from lava_eprop.errors import UserError
from lava_eprop.inference import load_inputs
from lava_eprop.loaders import NpzArchive, parse_yaml
from lava_eprop.network_file import TrainedNetwork, load_network, save_network
from lava_eprop.reference.params import init_weights
from lava_eprop.tasks import make_task


def refused(call, match):
    with pytest.raises(UserError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("text,match", [
    ("[" * 20000, "malformed YAML at line 1, column .*: .*nesting"),
    ("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)), "nesting deeper than 64"),
    ("network: {dt: " + "9" * 400 + ".0}", "a number of 402 characters"),
    ("network: {n_rec: " + "1" * 5000 + "}", "a number of 5000 characters"),
    ("network: {n_rec: 10}\nnetwork: {n_rec: 20}", "duplicate key 'network'"),
    ("task: {name: dataset, path: a, path: b}", "duplicate key 'path'"),
])
def test_hostile_yaml_configs_are_refused_in_one_line(tmp_path, text, match):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    refused(lambda: config.load(path), match)


def test_numbers_beyond_float_range_are_out_of_range_not_overflow():
    raw = {"task": {"name": "pattern-generation"}, "network": {"dt": 10 ** 400}}
    refused(lambda: config.from_dict(raw), r"network.dt = an integer of \d+ bits is out of")
    raw["network"] = {"n_rec": 10 ** 5000}
    refused(lambda: config.from_dict(raw), "network.n_rec = an integer of")


def test_merge_keys_are_not_duplicates():
    assert parse_yaml("a: &x {p: 1}\nb: {<<: *x, p: 2}", "t")["b"] == {"p": 2}


def test_deeply_nested_rule_file_is_refused(tmp_path):
    (tmp_path / "r.yaml").write_text("plan: " + "[" * 20000)
    refused(lambda: load_document(tmp_path / "r.yaml"), "not a YAML or JSON rule file")


@pytest.fixture
def network_file(tmp_path):
    cfg = config.load("pattern-generation")
    net = TrainedNetwork(cfg, init_weights(cfg, 100, 1, np.random.default_rng(0)), "float")
    save_network(tmp_path / "net.npz", net)
    return tmp_path / "net.npz"


def members(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def test_network_file_with_a_deeply_nested_stored_config_is_refused(tmp_path, network_file):
    arrays = members(network_file)
    arrays["config_yaml"] = np.array("[" * 20000 + "]" * 20000)
    np.savez(tmp_path / "bad.npz", **arrays)
    refused(lambda: load_network(tmp_path / "bad.npz"), "stored config.*nesting")


def test_network_weights_beyond_the_limit_are_refused(tmp_path, network_file):
    arrays = members(network_file)
    arrays["w_rec"] = np.full_like(arrays["w_rec"], 1e300)
    np.savez(tmp_path / "bad.npz", **arrays)
    refused(lambda: load_network(tmp_path / "bad.npz"), "'w_rec' holds NaN, Inf or values")


def test_unknown_network_member_and_bogus_engine_are_refused(tmp_path, network_file):
    np.savez(tmp_path / "extra.npz", **members(network_file), junk=np.zeros(2))
    refused(lambda: load_network(tmp_path / "extra.npz"), "unknown member 'junk'")
    np.savez(tmp_path / "engine.npz", **{**members(network_file), "engine": np.array("bogus")})
    refused(lambda: load_network(tmp_path / "engine.npz"), "engine 'bogus'")


def _dataset_cfg(path):
    return config.from_dict({"task": {"name": "dataset", "path": str(path)}})


def test_a_npy_under_an_npz_name_is_refused_by_every_npz_reader(tmp_path):
    path = tmp_path / "x.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.zeros((2, 3, 4)))
    for call in (lambda: make_task(_dataset_cfg(path)), lambda: load_network(path),
                 lambda: load_inputs(path, 4)):
        refused(call, "a single .npy array, not an .npz archive")


def huge_header_npz(path, shape=(10 ** 7, 10 ** 7, 10 ** 3)):
    """An .npz whose 'inputs' header claims ``shape`` float64 (728 TiB) in ~300 bytes."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("inputs.npy", buf.getvalue() + b"\0" * 64)
        zf.writestr("targets.npy", buf.getvalue())


def test_a_header_claiming_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    huge_header_npz(path)
    assert path.stat().st_size < 1000
    refused(lambda: make_task(_dataset_cfg(path)), "truncated or damaged: its header declares")
    refused(lambda: load_inputs(path, 10 ** 3), "truncated or damaged")


def test_a_compressed_member_declaring_an_impossible_size_is_refused(tmp_path):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, inputs=np.zeros((2, 3, 4)), targets=np.zeros(2))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("inputs.npy")
    at = data.rfind(b"inputs.npy") - 46 + 24       # central directory: uncompressed size
    data[at:at + 4] = struct.pack("<I", info.compress_size * 2000)
    path.write_bytes(bytes(data))
    refused(lambda: make_task(_dataset_cfg(path)), "declares .* bytes from .* compressed")


def test_duplicate_and_object_members_are_refused(tmp_path):
    path = tmp_path / "dup.npz"
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    with zipfile.ZipFile(path, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for _ in range(2):
            zf.writestr("inputs.npy", buf.getvalue())
    refused(lambda: NpzArchive(path, "x"), "member 'inputs' appears twice")
    np.savez(tmp_path / "obj.npz", inputs=np.array([None, 1], dtype=object))
    with NpzArchive(tmp_path / "obj.npz", "x") as npz:
        refused(lambda: npz.header("inputs"), "dtype object")


def test_arrays_read_through_the_archive_equal_numpys(tmp_path):
    arrays = {"a": np.arange(12.0).reshape(3, 4), "f": np.asfortranarray(np.ones((2, 3), int)),
              "b": np.array([1, 2], ">i8"), "s": np.array("text"), "e": np.zeros((0, 2))}
    np.savez(tmp_path / "p.npz", **arrays)
    np.savez_compressed(tmp_path / "c.npz", **arrays)
    for name in ("p.npz", "c.npz"):
        with NpzArchive(tmp_path / name, "x") as npz:
            for key, want in arrays.items():
                got = npz.array(key, "biufU")
                assert got.dtype == want.dtype and got.flags.writeable
                np.testing.assert_array_equal(got, want)


# ------------------------------------------------------- inputs that are not spikes
def dataset_config(tmp_path, value):
    x = (np.random.default_rng(0).random((6, 8, 3)) < 0.3).astype(np.float64)
    x[2, 5, 1] = value
    np.savez(tmp_path / "d.npz", inputs=x, targets=np.arange(6) % 2)
    (tmp_path / "c.yaml").write_text(
        f"task: {{name: dataset, path: '{tmp_path / 'd.npz'}'}}\n"
        "network: {n_rec: 6}\ntraining: {iterations: 1, eval_trials: 2}\n"
        "fixed_point: {input_rate_hz: 50}\n")
    return tmp_path / "c.yaml"


@pytest.mark.parametrize("value,shown", [(0.5, "0.5"), (1e300, "1e+300"), (-1.0, "-1")])
@pytest.mark.parametrize("command", [
    ["train", "--engine", "fixed"],
    pytest.param(["train", "--engine", "lava"], marks=pytest.mark.lava),   # Lava's runtime
    ["quant-report"]])
def test_on_chip_commands_refuse_dataset_inputs_other_than_spikes(tmp_path, value, shown,
                                                                  command):
    """On chip 0.5 became 0 and 1e300 an invalid cast's garbage, without a word."""
    cfg = dataset_config(tmp_path, value)
    code, err = main_in_process(command[0], cfg, *command[1:], "--out", tmp_path / "o")
    assert code == 2 and err.count("\n") == 1, err
    assert f"'inputs' holds {shown} at [2, 5, 1], which " in err
    assert "(allowed on chip: 0/1 spikes; --engine float takes other values)" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.lava  # deploy needs Lava's runtime
def test_deploy_refuses_a_network_whose_dataset_inputs_are_not_spikes(tmp_path):
    cfg = config.load(dataset_config(tmp_path, 0.5))
    save_network(tmp_path / "net.npz", TrainedNetwork(
        cfg, init_weights(cfg, 3, 2, np.random.default_rng(0)), "float"))
    code, err = main_in_process("deploy", tmp_path / "net.npz", "--sim", "--out", tmp_path / "o")
    assert code == 2 and "'inputs' holds 0.5 at [2, 5, 1], which deploy cannot send" in err
    assert not (tmp_path / "o").exists()


def test_the_float_engine_takes_dataset_inputs_other_than_spikes(tmp_path):
    code, err = main_in_process("train", dataset_config(tmp_path, 0.5), "--out", tmp_path / "o",
                                "--quiet")
    assert code == 0, err
    assert (tmp_path / "o" / "metrics.json").exists()
