"""Mass fuzzing of every entry point that reads a user file (issue 19).

Each case takes a valid file (config, rule file, dataset, network file,
checkpoint, inputs file, netx file) and makes it hostile: truncated,
bit-flipped, spliced with garbage, a member dropped, duplicated or replaced,
an ``.npy`` header claiming another shape or dtype, a ``.npy`` under the
``.npz`` name, hostile values, YAML nested 5,000 deep, numbers of 400 and
5,000 digits, duplicate keys, tags, invalid UTF-8. Every case must be
accepted or refused with one :class:`UserError` line, leave no file behind,
and about 1 case in 20 is the valid file itself, which must be accepted. The
cases are drawn from a fixed seed (the same every run); ``CASES`` counts them
(over 10,000 per run, besides ``tests/test_fuzz_loaders.py``'s hypothesis
examples). A smaller number goes through the command line, in process.
"""
import io
import os
import warnings
import zipfile

import numpy as np
import pytest
import yaml
from support import main_in_process

from compilers import export_rules, load_document
from lava_eprop import config
from lava_eprop.checkpoint import load_checkpoint
from lava_eprop.errors import UserError
from lava_eprop.inference import integer_spec, load_inputs
from lava_eprop.network_file import TrainedNetwork, load_network, save_network
from lava_eprop.netx_export import write_netx
from lava_eprop.netx_run import read_netx, run_netx
from lava_eprop.reference.params import init_weights
from lava_eprop.runs import run_training
from lava_eprop.tasks import make_task

CASES = {"config": 2500, "rules": 900, "dataset": 2000, "network": 2000, "checkpoint": 1800,
         "inputs": 1500, "netx": 400}        # 11,100, and 128 through the command line
TINY = {"task": {"name": "pattern-generation", "n_in": 5, "n_steps": 20},
        "network": {"n_rec": 6}, "training": {"iterations": 2, "eval_trials": 2}}
HOSTILE_VALUES = ["", "x", "-1", "0", "2.7", "1e300", "-1e300", ".nan", ".inf", "-.inf", "null",
                  "~", "true", "[]", "{}", "[1, 2]", "'", ":", "- a", "&a 1", "*a", "\t",
                  "9" * 400, "9" * 400 + ".5", "1" * 5000, "0x" + "f" * 300, "1:2:3:4:5:6",
                  "!!python/object/apply:os.system [echo]", "!!binary aGk=", "[" * 5000,
                  "{a: " * 3000, "\u00e9\u2603", "2001-12-14", "0b1010", "1_000"]
DTYPES = ["|O", "<U9", ">f8", "<f4", "<f2", "<i2", "<u8", "|b1", "<c16", "|V8", "|S4",
          [("a", "<f8")]]


def hostile_shape(rng, shape):
    choice = rng.integers(6)
    if choice == 0:
        return tuple(int(s) * 10 ** int(rng.integers(3, 12)) + 1 for s in shape) or (10 ** 9,)
    if choice == 1:
        return tuple(shape) + (int(rng.integers(0, 4)),)
    if choice == 2:
        return tuple(shape[:-1])
    if choice == 3:
        return (10 ** 7, 10 ** 7, 10 ** 3)
    if choice == 4:
        return tuple(-int(s) - 1 for s in shape) or (-1,)
    return tuple(int(rng.integers(0, 9)) for _ in range(int(rng.integers(0, 4))))


def npy_bytes(arr=None, header=None, data=None):
    buf = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buf, arr, allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(buf, header)
        buf.write(data)
    return buf.getvalue()


def zip_bytes(entries, compress=False):
    buf = io.BytesIO()
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # duplicate names on purpose
        with zipfile.ZipFile(buf, "w", compression=mode) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buf.getvalue()


def hostile_array(rng, arr):
    value = [np.nan, np.inf, -np.inf, 1e300, -1, 0.5, 2, 10 ** 18, 0][int(rng.integers(9))]
    dtype = [arr.dtype, np.float64, np.int64, np.float32, np.int8, bool, "U3"][
        int(rng.integers(7))]
    if arr.dtype.kind not in "biuf":         # a string member: a number or other text
        return np.array(value) if rng.integers(2) else np.array(str(arr)[::-1])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = np.array(arr, dtype=np.float64)
        if out.size:
            idx = rng.integers(out.size, size=int(rng.integers(1, 4)))
            out.reshape(-1)[idx] = value
        return out.astype(dtype)


def mutate_bytes(rng, data: bytes) -> bytes:
    data = bytearray(data)
    kind = rng.integers(4)
    if kind == 0 and data:
        return bytes(data[:int(rng.integers(len(data)))])
    if kind == 1 and data:
        for pos in rng.integers(len(data), size=int(rng.integers(1, 9))):
            data[pos] ^= 1 << int(rng.integers(8))
        return bytes(data)
    if kind == 2 and data:
        at = int(rng.integers(len(data)))
        data[at:at + 16] = rng.bytes(int(rng.integers(1, 17)))
        return bytes(data)
    return rng.bytes(int(rng.integers(0, 300)))


def mutate_npz(rng, members: dict) -> bytes:
    """A hostile variant of the archive holding ``members`` (name -> array)."""
    names = sorted(members)
    entries = [(f"{n}.npy", npy_bytes(members[n])) for n in names]
    kind = int(rng.integers(12))
    pick = int(rng.integers(len(names)))
    name, arr = names[pick], members[names[pick]]
    if kind == 0:           # a header claiming another shape over the same bytes
        entries[pick] = (f"{name}.npy", npy_bytes(header={
            "descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False,
            "shape": hostile_shape(rng, arr.shape)}, data=arr.tobytes()))
    elif kind == 1:         # a header claiming another dtype
        entries[pick] = (f"{name}.npy", npy_bytes(header={
            "descr": DTYPES[int(rng.integers(len(DTYPES)))], "fortran_order": False,
            "shape": arr.shape}, data=arr.tobytes()))
    elif kind == 2:
        del entries[pick]
    elif kind == 3:
        entries.append(entries[pick])
    elif kind == 4:
        entries.append(("junk.npy", npy_bytes(np.zeros(2))))
    elif kind == 5:
        entries[pick] = (f"{name}.npy", npy_bytes(hostile_array(rng, arr)))
    elif kind == 6:
        other = members[names[int(rng.integers(len(names)))]]
        entries[pick] = (f"{name}.npy", npy_bytes(other))
    elif kind == 7:
        return npy_bytes(arr)                   # a .npy under the .npz name
    elif kind == 8:
        entries[pick] = (name, rng.bytes(40))    # not an .npy member
    elif kind == 9:
        return mutate_bytes(rng, zip_bytes(entries, compress=bool(rng.integers(2))))
    elif kind == 10:
        entries[pick] = (f"{name}.npy", mutate_bytes(rng, entries[pick][1]))
    else:
        entries[pick] = (f"{name}.npy", npy_bytes(hostile_array(rng, arr)))
        return mutate_bytes(rng, zip_bytes(entries))
    return zip_bytes(entries, compress=bool(rng.integers(2)))


def mutate_yaml(rng, text: str) -> bytes:
    lines = text.splitlines()
    kind = int(rng.integers(8))
    if kind <= 2:           # values and whole lines replaced
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(len(lines)))
            value = HOSTILE_VALUES[int(rng.integers(len(HOSTILE_VALUES)))]
            key, sep, _ = lines[i].partition(":")
            lines[i] = f"{key}: {value}" if sep and kind < 2 else value
    elif kind == 3:         # a duplicate key
        i = int(rng.integers(len(lines)))
        lines.insert(i, lines[i])
    elif kind == 4:         # the document nested deep
        depth = int(rng.choice([10, 70, 5000]))
        return ("[" * depth + "\n".join(lines) + "]" * depth).encode()
    elif kind == 5:
        return mutate_bytes(rng, "\n".join(lines).encode())
    elif kind == 6:
        return b"\xff\xfe" + rng.bytes(int(rng.integers(50)))
    else:
        lines = lines[:int(rng.integers(len(lines) + 1))]
    return ("\n".join(lines) + "\n").encode()


def accepted_or_refused(call, case, folder, keep):
    """'accepted' or 'refused' (one UserError line); anything else fails with the case."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
        outcome = "accepted"
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc), f"case {case}: {exc!r}"
        outcome = "refused"
    except Exception as exc:  # noqa: BLE001 (the point: no other exception)
        raise AssertionError(f"case {case}: {type(exc).__name__}: {exc}") from exc
    assert sorted(os.listdir(folder)) == sorted(keep), f"case {case}: files left behind"
    return outcome


def fuzz(tmp_path, name, count, valid: bytes, mutate, load, file_name):
    """Run ``count`` cases; every 20th is the valid file and must be accepted."""
    rng = np.random.default_rng([19, *name.encode()])      # the same cases every run
    folder = tmp_path / name
    folder.mkdir()
    path = folder / file_name
    outcomes = {"accepted": 0, "refused": 0}
    for case in range(count):
        data = valid if case % 20 == 0 else mutate(rng)
        path.write_bytes(data)
        outcome = accepted_or_refused(lambda: load(path), f"{name} {case}", folder, [file_name])
        if case % 20 == 0:
            assert outcome == "accepted", f"{name}: the valid file was refused"
        outcomes[outcome] += 1
    assert outcomes["refused"] > count // 2, outcomes
    return outcomes


def members_of(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    """One valid file of every kind, small (tiny network, tiny dataset)."""
    d = tmp_path_factory.mktemp("valid")
    cfg = config.from_dict(TINY)
    save_network(d / "net.npz", TrainedNetwork(
        cfg, init_weights(cfg, 5, 1, np.random.default_rng(0)), "float"))
    rng = np.random.default_rng(1)
    np.savez(d / "data.npz", inputs=(rng.random((6, 8, 3)) < 0.3).astype(np.int8),
             targets=np.arange(6) % 3)
    np.savez(d / "in.npz", inputs=(rng.random((2, 8, 5)) < 0.3))
    for engine in ("float", "fixed"):
        run_training(cfg, engine, d / engine, progress=False, checkpoint_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_netx(d / "net.h5", integer_spec(load_network(d / "net.npz")))
        (d / "tiny.yaml").write_text(yaml.safe_dump(TINY))
        rules, _ = export_rules(d / "tiny.yaml", "yaml")
    return cfg, d, rules


def test_config_files(tmp_path, valid_files):
    texts = [(valid_files[1] / "tiny.yaml").read_text(),
             "task: {name: dataset, path: d.npz, decision_window: 3}\nnetwork:\n  n_rec: 8\n"
             "  neuron: alif\n  n_adaptive: 4\ntraining:\n  learning_rate: 0.01\n"
             "fixed_point:\n  rounding: lava\n"]
    fuzz(tmp_path, "config", CASES["config"], texts[0].encode(),
         lambda rng: mutate_yaml(rng, texts[int(rng.integers(2))]), config.load, "c.yaml")


def test_rule_files(tmp_path, valid_files):
    text = valid_files[2]
    fuzz(tmp_path, "rules", CASES["rules"], text.encode(), lambda rng: mutate_yaml(rng, text),
         load_document, "rules.yaml")


def test_dataset_files(tmp_path, valid_files):
    members = members_of(valid_files[1] / "data.npz")
    cfg = config.from_dict({"task": {"name": "dataset", "path": str(tmp_path / "dataset" /
                                                                     "d.npz")}})
    fuzz(tmp_path, "dataset", CASES["dataset"], (valid_files[1] / "data.npz").read_bytes(),
         lambda rng: mutate_npz(rng, members), lambda path: make_task(cfg), "d.npz")


def test_network_files(tmp_path, valid_files):
    valid = (valid_files[1] / "net.npz").read_bytes()
    members = members_of(valid_files[1] / "net.npz")
    yaml_text = str(members["config_yaml"])

    def mutate(rng):
        if rng.integers(4) == 0:        # the stored config made hostile
            text = mutate_yaml(rng, yaml_text).decode("utf-8", "replace")
            return zip_bytes([(f"{k}.npy", npy_bytes(np.array(text) if k == "config_yaml"
                                                     else v)) for k, v in members.items()])
        return mutate_npz(rng, members)
    fuzz(tmp_path, "network", CASES["network"], valid, mutate, load_network, "net.npz")


def test_checkpoints(tmp_path, valid_files):
    cfg, d, _ = valid_files
    per_engine = CASES["checkpoint"] // 2
    for engine in ("float", "fixed"):
        members = members_of(d / engine / "checkpoint.npz")
        fuzz(tmp_path, f"checkpoint-{engine}", per_engine,
             (d / engine / "checkpoint.npz").read_bytes(),
             lambda rng, members=members: mutate_npz(rng, members),
             lambda path, engine=engine: load_checkpoint(path.parent, cfg, engine, 5, 1),
             "checkpoint.npz")


def test_inputs_files(tmp_path, valid_files):
    members = members_of(valid_files[1] / "in.npz")
    fuzz(tmp_path, "inputs", CASES["inputs"], (valid_files[1] / "in.npz").read_bytes(),
         lambda rng: mutate_npz(rng, members), lambda path: load_inputs(path, 5), "in.npz")


H5_VALUES = [np.nan, np.inf, 1e300, -1, 0.5, 300, 2 ** 40, 0, True]
H5_DTYPES = [np.float64, np.float32, np.int8, np.uint64, bool, np.complex128, "S3",
             [("a", "<i8")]]


def hostile_dataset(rng, group, key, old):
    """Replace ``group[key]`` (a dataset ``old``, its array) by a hostile dataset."""
    import h5py

    del group[key]
    kind = int(rng.integers(6))
    if kind == 0:                          # another dtype
        dtype = H5_DTYPES[int(rng.integers(len(H5_DTYPES)))]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                group[key] = np.zeros(np.shape(old), dtype)
            except (TypeError, ValueError):
                group[key] = np.zeros(np.shape(old))
    elif kind == 1:                        # another shape
        group[key] = np.zeros(hostile_shape(rng, np.shape(old))[:3] if np.ndim(old) else (2,),
                              np.int64) if rng.integers(2) else np.zeros((0,), np.int64)
    elif kind == 2 and np.asarray(old).dtype.kind in "biuf":   # a hostile value
        arr = np.array(old, dtype=np.float64, copy=True)
        arr.reshape(-1)[int(rng.integers(max(arr.size, 1)))] = H5_VALUES[
            int(rng.integers(len(H5_VALUES)))] if arr.size else 0
        group[key] = arr.astype(np.int64) if rng.integers(2) and np.all(np.isfinite(arr)) \
            and np.all(np.abs(arr) < 2 ** 62) else arr
    elif kind == 2:
        group[key] = np.bytes_(H5_VALUES[int(rng.integers(len(H5_VALUES)))])
    elif kind == 3:                        # a huge declared shape, no data (fill values)
        group.create_dataset(key, shape=(10 ** 6, 10 ** 6), dtype=np.int64, chunks=(1, 64))
    elif kind == 4:                        # a group in its place
        group.create_group(key)
    else:                                  # a link out of the file, or a dangling one
        group[key] = (h5py.ExternalLink("/etc/hostname", "/x") if rng.integers(2)
                      else h5py.SoftLink("/nowhere"))


def mutate_h5(rng, valid: bytes, path) -> bytes:
    """A hostile variant of the netx file ``valid``, edited with h5py (or its bytes)."""
    import h5py

    path.write_bytes(valid)
    kind = int(rng.integers(6))
    if kind == 5:
        return mutate_bytes(rng, valid)
    with h5py.File(path, "r+") as f:
        names = []
        f.visit(names.append)
        name = names[int(rng.integers(len(names)))]
        obj = f[name]
        parent, key = f[obj.parent.name], name.rsplit("/", 1)[-1]
        if kind == 0:
            del parent[key]
        elif kind == 1 and isinstance(obj, h5py.Dataset):
            hostile_dataset(rng, parent, key, obj[()])
        elif kind == 2:                    # an unexpected member
            extra = ["delay", "bias", "neuron", "messageBits", "3", "weight_rec"][
                int(rng.integers(6))]
            target = obj if isinstance(obj, h5py.Group) else parent
            if extra not in target:
                target[extra] = np.zeros(2, np.int64)
        elif kind == 3:                    # a layer type or string replaced
            layer = f[f"layer/{int(rng.integers(3))}"]
            del layer["type"]
            layer["type"] = [b"conv", b"dense", b"input", b"\xff\xfe", "CUBA", b"x" * 500][
                int(rng.integers(6))]
        else:                              # the attributes
            attr = "lava_eprop_readout_per_register"
            if rng.integers(3) == 0:
                del f.attrs[attr]
            else:
                f.attrs[attr] = [np.nan, -1.0, "x", np.zeros(3), 1e300 * 10][
                    int(rng.integers(5))]
    return path.read_bytes()


def read_and_build_netx(path):
    """``read_netx``; a file it accepts must also load in lava-dl's netx."""
    from lava_eprop.lava_runtime import import_lava_runtime

    import_lava_runtime()
    from lava.lib.dl.netx.hdf5 import Network

    read_netx(path)
    Network(net_config=str(path)).net_config.f.close()


def test_netx_files(tmp_path, valid_files):
    """The check in front of lava-dl's netx loader, on files edited inside (every dataset
    deleted, retyped, reshaped, given hostile values, a huge declared shape, links out of
    the file, extra members, layer types, attributes) and byte-level damage; every file
    it accepts loads in netx."""
    valid = (valid_files[1] / "net.h5").read_bytes()
    scratch = tmp_path / "scratch.h5"
    outcomes = fuzz(tmp_path, "netx", CASES["netx"], valid,
                    lambda rng: mutate_h5(rng, valid, scratch), read_and_build_netx, "n.h5")
    assert outcomes["accepted"] > CASES["netx"] // 20    # edited files netx loads, too


def test_netx_runner_refuses_hostile_files_and_inputs_in_one_line(tmp_path, valid_files):
    """``run_netx``, the Python API, end to end: edited files and non-0/1 or misshapen
    inputs refused in one line before Lava starts; the valid file runs."""
    import h5py

    valid = valid_files[1] / "net.h5"
    x = np.zeros((1, 3, 5))
    for change in ("weight", "vThMant", "shape"):
        path = tmp_path / f"{change}.h5"
        path.write_bytes(valid.read_bytes())
        with h5py.File(path, "r+") as f:
            name = {"weight": "layer/1/weight", "vThMant": "layer/1/neuron/vThMant",
                    "shape": "layer/0/shape"}[change]
            value = f[name][()]
            del f[name]
            f[name] = np.full_like(value, 10 ** 6) if change != "weight" else value * 1e300
        with pytest.raises(UserError, match=f"not a netx file as export-netx writes it .*"
                                            f"{change}"):
            run_netx(path, x)
    for inputs, message in ((np.full((1, 3, 5), 0.5), "got 0.5 at index"),
                            (np.full((1, 3, 5), 1e300), "got 1e.300"),
                            (np.zeros((1, 3, 4)), r"shape \[trials >= 1, T >= 1, 5\]"),
                            (np.zeros((3, 5)), "shape")):
        with pytest.raises(UserError, match=message):
            run_netx(valid, inputs)
    out = run_netx(valid, np.ones((1, 3, 5), bool))
    assert out["z"].shape == (1, 3, 6) and out["readout_v"].shape == (1, 3, 1)


# ------------------------------------------------------------------ the command line
def cli_case(case, args, folder, keep):
    code, err = main_in_process(*args)
    assert code in (0, 2), f"case {case}: exit {code}: {err}"
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, f"case {case}: {err}"
        assert sorted(os.listdir(folder)) == sorted(keep), f"case {case}: files left behind"
    return code


def test_command_line(tmp_path, valid_files):
    cfg, d, _ = valid_files
    rng = np.random.default_rng(19)
    codes = []
    text = (d / "tiny.yaml").read_text()
    folder = tmp_path / "cli"
    folder.mkdir()
    for case in range(60):                       # configs: show-rule, train (refusals only)
        (folder / "c.yaml").write_bytes(mutate_yaml(rng, text))
        codes.append(cli_case(case, ["show-rule", folder / "c.yaml"], folder, ["c.yaml"]))
    net = members_of(d / "net.npz")
    for case in range(40):                       # network files: export-netx
        (folder / "net.npz").write_bytes(mutate_npz(rng, net))
        codes.append(cli_case(case, ["export-netx", folder / "net.npz", "-o", folder / "o.h5"],
                              folder, ["c.yaml", "net.npz"]))
        (folder / "o.h5").unlink(missing_ok=True)
    ckpt = members_of(d / "float" / "checkpoint.npz")
    (folder / "tiny.yaml").write_text(text)
    for case in range(25):                       # final checkpoints: train --resume
        run = folder / "run"
        run.mkdir()
        (run / "checkpoint.npz").write_bytes(mutate_npz(rng, ckpt))
        codes.append(cli_case(case, ["train", folder / "tiny.yaml", "--out", run, "--resume",
                                     run, "--quiet"], run, ["checkpoint.npz"]))
        for p in run.iterdir():
            p.unlink()
        run.rmdir()
    for case, data in enumerate([npy_bytes(np.zeros((1, 8, 5))), b"", rng.bytes(100)]):
        (folder / "in.npz").write_bytes(data)     # run --inputs: hostile files only
        codes.append(cli_case(case, ["run", d / "net.npz", "--inputs", folder / "in.npz",
                                     "--out", folder / "inf"], folder,
                              ["c.yaml", "in.npz", "net.npz", "tiny.yaml"]))
    assert codes.count(2) > len(codes) // 2 and 0 in codes
