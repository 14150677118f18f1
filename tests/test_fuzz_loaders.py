"""Property-based fuzzing of the loaders users feed files to: a malformed or
extreme input is either accepted or refused with a one-line UserError, never
another exception."""
import functools
import tempfile
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from compilers import export_rules, load_document
from lava_eprop import config
from lava_eprop.errors import UserError
from lava_eprop.inference import load_inputs
from lava_eprop.netx_run import run_netx
from lava_eprop.network_file import TrainedNetwork, load_network, save_network
from lava_eprop.reference.params import init_weights
from lava_eprop.tasks import make_task

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

dtypes = st.sampled_from(["float64", "float32", "int64", "int8", "bool", "complex64", "U3",
                          "object"])
shapes = st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple)


@st.composite
def arrays(draw):
    shape, dtype = draw(shapes), draw(dtypes)
    if dtype == "object":
        return np.empty(shape, dtype=object)
    values = draw(st.sampled_from([0, 1, -1, 2.5, np.nan, np.inf, 1e300]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.full(shape, values).astype(dtype)


@settings(max_examples=300, **SETTINGS)
@given(inputs=st.one_of(st.none(), arrays()), targets=st.one_of(st.none(), arrays()),
       extra=st.booleans(), window=st.one_of(st.none(), st.integers(1, 6)))
def test_dataset_loader_accepts_or_refuses_in_one_line(tmp_path, inputs, targets, extra,
                                                        window):
    arrays_ = {k: v for k, v in (("inputs", inputs), ("targets", targets)) if v is not None}
    if extra:
        arrays_["junk"] = np.zeros(2)
    path = tmp_path / "d.npz"
    np.savez(path, **arrays_)
    raw = {"task": {"name": "dataset", "path": str(path), "decision_window": window}}
    try:
        task = make_task(config.from_dict(raw))
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        batch = task.sample(2, np.random.default_rng(0))
        assert batch.inputs.shape[1:] == (task.n_steps, task.n_in)


@settings(max_examples=200, **SETTINGS)
@given(data=st.binary(max_size=64))
def test_dataset_loader_refuses_garbage_files(tmp_path, data):
    path = tmp_path / "g.npz"
    path.write_bytes(data)
    try:
        make_task(config.from_dict({"task": {"name": "dataset", "path": str(path)}}))
    except UserError as exc:
        assert "\n" not in str(exc)


def _exported_yaml():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text, _ = export_rules("pattern-generation", "yaml")
    return text


EXPORTED = _exported_yaml()
LINES = EXPORTED.splitlines()
replacements = st.sampled_from(["", "x", "-1", "1e309", "null", "[]", "{}", "'", ":", "  - a",
                                "999999999999", "0.0", "true", "\t"])


@settings(max_examples=400, **SETTINGS)
@given(edits=st.lists(st.tuples(st.integers(0, len(LINES) - 1), st.booleans(), replacements),
                      min_size=1, max_size=4))
def test_rule_file_loader_accepts_or_refuses_edited_files_in_one_line(tmp_path, edits):
    lines = list(LINES)
    for index, replace_value, text in edits:
        if replace_value and ":" in lines[index]:
            key = lines[index].split(":", 1)[0]
            lines[index] = f"{key}: {text}"
        else:
            lines[index] = text
    path = tmp_path / "rules.yaml"
    path.write_text("\n".join(lines) + "\n")
    try:
        doc = load_document(path)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert doc is not None


def test_unedited_export_loads(tmp_path):
    (tmp_path / "rules.yaml").write_text(EXPORTED)
    assert load_document(tmp_path / "rules.yaml") is not None


@functools.lru_cache(maxsize=1)
def network_bytes() -> bytes:
    """A valid network file (not a test argument: hypothesis would print it)."""
    cfg = config.load("pattern-generation")
    net = TrainedNetwork(cfg, init_weights(cfg, 100, 1, np.random.default_rng(0)), "float")
    with tempfile.TemporaryDirectory() as tmp:
        save_network(Path(tmp) / "net.npz", net)
        return (Path(tmp) / "net.npz").read_bytes()


def _load_or_refuse(path):
    try:
        net = load_network(path)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert net.weights.w_rec.shape == (100, 100)


@settings(max_examples=300, **SETTINGS)
@given(cut=st.integers(0, 10 ** 6), flips=st.lists(st.tuples(st.integers(0, 10 ** 6),
                                                              st.integers(0, 255)), max_size=6))
def test_network_loader_accepts_or_refuses_corrupted_files_in_one_line(tmp_path, cut, flips):
    data = bytearray(network_bytes())
    for pos, value in flips:
        data[pos % len(data)] = value
    path = tmp_path / "net.npz"
    path.write_bytes(bytes(data[:len(data) - cut % len(data)] if cut % 3 else data))
    _load_or_refuse(path)


MEMBERS = ["w_in", "w_rec", "w_out", "b_out", "fb", "config_yaml", "engine", "schema_version",
           "package_version"]


@settings(max_examples=300, **SETTINGS)
@given(changes=st.dictionaries(st.sampled_from(MEMBERS), st.one_of(st.none(), arrays()),
                               min_size=1, max_size=3),
       yaml_text=st.one_of(st.none(), st.text(max_size=40)))
def test_network_loader_accepts_or_refuses_mutated_members_in_one_line(tmp_path, changes,
                                                                       yaml_text):
    (tmp_path / "net.npz").write_bytes(network_bytes())
    with np.load(tmp_path / "net.npz") as data:
        members = {k: data[k] for k in data.files}
    for name, value in changes.items():
        members.pop(name) if value is None else members.__setitem__(name, value)
    if yaml_text is not None:
        members["config_yaml"] = np.array(yaml_text)
    path = tmp_path / "mutated.npz"
    np.savez(path, **members)
    _load_or_refuse(path)


@settings(max_examples=300, **SETTINGS)
@given(inputs=st.one_of(st.none(), arrays()), extra=st.booleans())
def test_inputs_loader_accepts_or_refuses_in_one_line(tmp_path, inputs, extra):
    members = {} if inputs is None else {"inputs": inputs}
    if extra:
        members["junk"] = np.zeros(2)
    np.savez(tmp_path / "in.npz", **members)
    try:
        x = load_inputs(tmp_path / "in.npz", 3)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert x.ndim == 3 and x.shape[2] == 3 and set(np.unique(x)) <= {0, 1}


@settings(max_examples=200, **SETTINGS)
@given(data=st.binary(max_size=64))
def test_netx_runner_refuses_garbage_files_in_one_line(tmp_path, data):
    (tmp_path / "n.h5").write_bytes(data)
    try:
        run_netx(tmp_path / "n.h5", np.zeros((1, 2, 3)))
    except UserError as exc:
        assert "\n" not in str(exc)
    else:
        raise AssertionError("garbage accepted as a netx file")
