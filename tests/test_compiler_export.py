"""The rule document: round trips, loading back into Lava, refusals, and a property test."""
import json
import re
import subprocess
import sys
import warnings
from copy import deepcopy

import pytest
from config_strategies import EDGES, RANGES, configs
from hypothesis import HealthCheck, Phase, find, given, settings

from compilers.checks import FixedPointWarning
from compilers.compile import compile_plan
from compilers.export import document, dumps, export_rules, load_document, load_rules
from compilers.plan import Plan
from lava_eprop.config import PRESETS, from_dict, load
from lava_eprop.errors import UserError
from lava_eprop.loihi.rule import LearningRule

MESSAGE = re.compile(r"^[a-z_]+\.[a-z_]+ = [^\n]+: [^\n]+ \(allowed: [^\n]*\)$")


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FixedPointWarning)
        yield


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("name", PRESETS)
def test_export_load_export_is_byte_identical(tmp_path, name, fmt):
    path = tmp_path / f"rules.{fmt}"
    text, _ = export_rules(name, fmt, path)
    assert path.read_text() == text
    doc = load_document(path)
    assert dumps(doc, fmt) == text
    assert doc.plan == compile_plan(load(name))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.lava
def test_document_is_versioned_and_loads_into_lava_rules(tmp_path):
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
    path = tmp_path / "rules.json"
    export_rules("evidence-accumulation", "json", path)
    raw = json.loads(path.read_text())
    assert (raw["schema"], raw["schema_version"], raw["lava_nc_version"]) == \
        ("lava-eprop/loihi-rules", 1, "0.10.0")
    assert raw["widths"]["trace"] == 7 and raw["widths"]["accumulator"] == 16
    proj = raw["plan"]["projections"][0]
    assert {"rules", "x1_impulse", "x1_tau", "t_epoch", "weight_exp", "products"} <= set(proj)
    assert {"mantissa", "exponent", "width_sum", "shift"} <= set(proj["products"]["dw"][0])
    rules = load_rules(path)
    assert set(rules) == {p["name"] for p in raw["plan"]["projections"]}
    assert all(isinstance(r, Loihi3FLearningRule) for r in rules.values())
    assert rules["recurrent->alif"].dd is not None


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


EDITS = [
    (lambda t: "\x00\xff not yaml {", "not a YAML or JSON rule file"),
    (lambda t: edit(t, "schema: lava-eprop/loihi-rules", "schema: other"), "schema is not"),
    (lambda t: edit(t, "schema_version: 1", "schema_version: 2"), "schema_version = 2"),
    (lambda t: edit(t, "* u0 * t * (y3-64)", "* u1 * t * (y3-64)"), "depends on u1"),
    (lambda t: edit(t, "dw: -1*2^-7", "dw: -3*2^-7"), "products do not match"),
    (lambda t: edit(t, "    x1_tau: 20\n", "    x1_tau: 900\n"), r"x1_tau = 900 is out of range"),
    (lambda t: edit(t, "    x1_impulse: ", "    x1_impulse: big #"), "x1_impulse must be an integer"),
    (lambda t: edit(t, "    dv: 200\n", ""), "missing key 'dv'"),
    (lambda t: edit(t, "  realised: ", "  realised: 1.5 #"), "relative_error does not match"),
    (lambda t: t + "extra: 1\n", "unknown or inconsistent keys"),
]


@pytest.mark.parametrize("change,message", EDITS)
def test_malformed_or_badly_edited_documents_are_refused_in_one_line(tmp_path, change, message):
    path = tmp_path / "rules.yaml"
    text, _ = export_rules("evidence-accumulation", "yaml")
    path.write_text(change(text))
    with pytest.raises(UserError, match=message) as info:
        load_rules(path)
    assert "\n" not in str(info.value)


def test_missing_document_is_refused(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        load_document(tmp_path / "nope.yaml")


def compiles_or_refuses_as_documented(raw) -> bool:
    """Compile; on success check the plan against Lava, on refusal the message form."""
    raw["fixed_point"]["warn_tolerance"] = raw["fixed_point"]["tolerance"] / 2
    cfg = from_dict(raw)
    try:
        plan = compile_plan(cfg)
    except UserError as exc:
        assert MESSAGE.match(str(exc)), str(exc)
        return False
    for proj in plan.projections:
        assert isinstance(proj.rule(), LearningRule)   # Lava's: tests/test_loihi_vs_lava.py
        assert 1 <= proj.x1_impulse <= 127 and 1 <= proj.x1_tau <= 255
        assert -8 <= proj.weight_exp <= 7
    for group in plan.groups:
        assert 0 <= group.dv <= 4095 and (group.vth is None or 64 <= group.vth < 2 ** 17)
    assert Plan.from_dict(json.loads(dumps(document(plan), "json"))["plan"]) == plan
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=configs(RANGES))
def test_compiler_gives_lava_accepted_rules_or_the_documented_refusal(raw):
    compiles_or_refuses_as_documented(raw)


def test_the_property_test_ranges_reach_both_outcomes():
    quick = settings(max_examples=300, database=None, deadline=None, phases=[Phase.generate])
    for outcome in (True, False):
        find(configs(RANGES),
             lambda raw, want=outcome: compiles_or_refuses_as_documented(deepcopy(raw)) == want,
             settings=quick)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=configs(EDGES))
def test_compiler_never_crashes_at_the_edges_of_the_config_schema(raw):
    compiles_or_refuses_as_documented(raw)


def test_compilers_do_not_import_the_runtime():
    """The task types are not runtime: the config's task keys come from their modules."""
    code = ("import sys, compilers; compilers.export_rules('evidence-accumulation', 'yaml'); "
            "print([m for m in sys.modules if m.startswith(('lava_eprop.reference', "
            "'lava_eprop.engine', 'lava.', 'process_models', 'torch'))])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stderr
