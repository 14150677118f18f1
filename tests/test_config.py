"""Config loading: presets, defaults, the generated reference, and refusals."""
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from lava_eprop import config
from lava_eprop.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", config.PRESETS)
def test_every_preset_loads_and_round_trips_through_yaml(name):
    cfg = config.load(name)
    assert cfg.task["name"] == name
    again = config.from_dict(yaml.safe_load(config.save_yaml(cfg)))
    assert again.to_dict() == cfg.to_dict()


def test_missing_keys_take_the_schema_defaults():
    cfg = config.from_dict({"task": {"name": "store-recall"}})
    assert cfg.network.tau_m == config.SCHEMA["network"]["tau_m"].default
    assert cfg.training.optimizer == "adam"
    assert cfg.task["n_windows"] == 6


def test_docs_config_reference_is_generated_from_the_schema():
    assert (ROOT / "docs" / "config.md").read_text() == config.schema_markdown(), \
        "regenerate with: python -m lava_eprop.config > docs/config.md"


def test_overrides_are_validated_like_the_file():
    cfg = config.load("pattern-generation").with_overrides(iterations=5, seed=3)
    assert (cfg.training.iterations, cfg.training.seed) == (5, 3)
    with pytest.raises(UserError, match="training.iterations"):
        cfg.with_overrides(iterations=0)


BAD = [
    ({"task": {"name": "pattern-generation", "n_inn": 3}},
     "unknown key 'task.n_inn'.*allowed in task: name, n_in"),
    ({"task": {"name": "pattern-generation"}, "netwrk": {}}, "unknown key 'netwrk'"),
    ({"task": {"name": "maze"}}, "task.name = 'maze' is not allowed.*pattern-generation"),
    ({"task": {}}, "missing key 'task.name'"),
    ({"task": {"name": "dataset"}}, "missing key 'task.path'"),
    ({"task": {"name": "pattern-generation"}, "network": {"n_rec": "many"}},
     "network.n_rec must be an integer.*got 'many'"),
    ({"task": {"name": "pattern-generation"}, "network": {"n_rec": 2.5}},
     "network.n_rec must be an integer"),
    ({"task": {"name": "pattern-generation"}, "network": {"tau_m": -3}},
     r"network.tau_m = -3.0 is out of range \(allowed: number > 0"),
    ({"task": {"name": "pattern-generation"}, "network": {"input_scaling": "yes"}},
     "network.input_scaling must be true or false"),
    ({"task": {"name": "pattern-generation"}, "training": {"feedback": "mirror"}},
     "allowed: one of symmetric, random, adaptive"),
    ({"task": {"name": "pattern-generation"}, "training": {"learning_rate": float("nan")}},
     "training.learning_rate must be finite"),
    ({"task": {"name": "pattern-generation"}, "network": {"n_rec": 4, "neuron": "alif",
                                                         "n_adaptive": 9}},
     "n_adaptive = 9 exceeds network.n_rec = 4"),
    ({"task": {"name": "evidence-accumulation", "n_cues": 6}}, "n_cues = 6 must be odd"),
    ({"task": {"name": "evidence-accumulation", "n_in": 42}}, "multiple of 4"),
    ({"task": {"name": "pattern-generation", "periods_ms": []}}, "non-empty list"),
    ({"task": {"name": "pattern-generation"}, "training": {"method": "bptt",
                                                          "update": "online"}},
     "update = 'online' is not possible"),
    ({"task": {"name": "pattern-generation"}, "network": []},
     "section 'network' must be a mapping"),
    ([1, 2], "a config must be a mapping"),
    ({"task": {"name": "pattern-generation"}, "fixed_point": {"weight_exp_in": 9}},
     r"fixed_point.weight_exp_in = 9 is out of range \(allowed: integer >= -8 and <= 7"),
    ({"task": {"name": "pattern-generation"}, "fixed_point": {"warn_tolerance": 0.5,
                                                             "tolerance": 0.1}},
     "warn_tolerance = 0.5 exceeds fixed_point.tolerance = 0.1"),
]


@pytest.mark.parametrize("raw,message", BAD)
def test_bad_config_is_refused_with_one_line_naming_key_and_allowed_values(raw, message):
    with pytest.raises(UserError, match=message) as info:
        config.from_dict(raw)
    assert "\n" not in str(info.value)


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("task:\n  name: [pattern-generation\nnetwork: {}\n")
    with pytest.raises(UserError, match=r"bad.yaml: malformed YAML at line \d+"):
        config.load(path)


def test_missing_file_and_unknown_preset_are_named():
    with pytest.raises(UserError, match="neither a preset .* nor an existing config file"):
        config.load("no-such-thing.yaml")


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(UserError):
        config.load(path)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.text(max_size=6), c, max_size=3), max_leaves=6)
keys = st.sampled_from(sorted({k for s in config.SCHEMA.values() for k in s}
                              | {k for s in config.TASK_SCHEMAS.values() for k in s}
                              | {"bogus"}))


@settings(max_examples=400, deadline=None)
@given(task_name=st.sampled_from(list(config.TASK_NAMES) + ["nope"]),
       sections=st.dictionaries(st.sampled_from(["task", "network", "training"]),
                                st.dictionaries(keys, values, max_size=4), max_size=3))
def test_config_loader_accepts_or_refuses_with_user_error_never_crashes(task_name, sections):
    raw = dict(sections)
    raw["task"] = {**raw.get("task", {}), "name": task_name}
    try:
        cfg = config.from_dict(raw)
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert config.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()
