"""Every compiler refusal names a parameter, its value and a range of that parameter the
value lies outside, checked numerically over the config schema's ranges."""
import operator
import re
import warnings

import pytest
import yaml
from config_strategies import EDGES, RANGES, configs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compilers.checks import FixedPointWarning
from compilers.compile import compile_plan
from lava_eprop.config import PRESETS, SCHEMA, from_dict, preset_dict
from lava_eprop.errors import UserError

REFUSAL = re.compile(r"^(?P<key>[a-z_]+\.[a-z_]+) = (?P<value>[^ ]+): .+ "
                     r"\(allowed: (?P<allowed>[^()]+)\)$")
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|inf)"
OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


def parse_value(text: str):
    """A value as the compiler prints it: null, true/false, 'string' or a number."""
    literals = {"null": None, "true": True, "false": False}
    if text in literals:
        return literals[text]
    return text.strip("'") if text.startswith("'") else float(text)


def allows(allowed: str, key: str, value) -> bool:
    """Whether ``value`` of ``key`` lies in ``allowed``: ``KEY OP N``, ``N OP KEY OP N``,
    ``KEY = VALUE`` or two of them joined by ``or``."""
    if " or " in allowed:
        return any(allows(part, key, value) for part in allowed.split(" or "))
    k, ops = re.escape(key), "(<=|<|>=|>)"
    if m := re.fullmatch(rf"{k} {ops} ({NUMBER})", allowed):
        return isinstance(value, float) and OPS[m[1]](value, float(m[2]))
    if m := re.fullmatch(rf"({NUMBER}) (<=|<) {k} (<=|<) ({NUMBER})", allowed):
        return isinstance(value, float) and OPS[m[2]](float(m[1]), value) \
            and OPS[m[3]](value, float(m[4]))
    if m := re.fullmatch(rf"{k} = (.+)", allowed):
        return value == parse_value(m[1])
    raise AssertionError(f"allowed range not machine-checkable: {allowed!r}")


def refusal_or_none(raw):
    """Compile; None, or the refusal's (key, value, allowed, message), its value checked
    to lie outside its range."""
    try:
        cfg = from_dict(raw)
    except UserError:
        return None                 # not a valid config: the schema's business, not ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FixedPointWarning)
            compile_plan(cfg)
    except UserError as exc:
        m = REFUSAL.match(str(exc))
        assert m, str(exc)
        value = parse_value(m["value"])
        assert not allows(m["allowed"], m["key"], value), str(exc)
        return m["key"], value, m["allowed"], str(exc)
    return None


def schema_value(field):
    """Any value the config schema accepts for ``field``."""
    if field.choices:
        values = st.sampled_from(field.choices)
    elif field.kind == "bool":
        values = st.booleans()
    elif field.kind == "int":
        values = st.integers(int(field.lo), int(field.hi))
    else:
        values = st.floats(field.lo, field.hi, exclude_min=field.lo_open)
    return st.one_of(st.none(), values) if field.nullable else values


@st.composite
def schema_configs(draw):
    """A preset with each network and fixed_point key kept or drawn from its schema range."""
    raw = preset_dict(draw(st.sampled_from(PRESETS)))
    for section in ("network", "fixed_point"):
        values = dict(raw.get(section) or {})
        for key, field in SCHEMA[section].items():
            if draw(st.booleans()):
                values[key] = draw(schema_value(field))
        raw[section] = values
    return raw


QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(raw=schema_configs())
def test_a_refusal_names_a_value_outside_the_range_it_names_over_the_schema(raw):
    refusal_or_none(raw)


@QUICK
@given(raw=st.one_of(configs(RANGES), configs(EDGES)))
def test_a_refusal_names_a_value_outside_the_range_it_names_over_wide_ranges(raw):
    raw["fixed_point"]["warn_tolerance"] = raw["fixed_point"]["tolerance"] / 2
    refusal_or_none(raw)


def _adaptive(**network):
    raw = yaml.safe_load(yaml.safe_dump(preset_dict("evidence-accumulation")))
    raw["network"].update(network)
    return raw


@pytest.mark.parametrize("tau_a", [200.0, 300.0, 1000.0])
def test_an_eps_leak_too_fine_for_y1_names_beta_and_a_beta_that_compiles(tau_a):
    """v_th 0.1, tau_m 30 and the default beta 1.7 (1 - rho) / (1 - alpha): beta * psi_max
    is ~156 times the eps leak 1 - rho whatever tau_a, so y1 holds the leak in under one
    integer step. The refusal names beta, not tau_a, and the beta it allows compiles."""
    refusal = refusal_or_none(_adaptive(v_th=0.1, tau_m=30.0, tau_a=tau_a))
    assert refusal is not None and refusal[0] == "network.beta" and "eps leak" in refusal[3]
    bound = float(re.fullmatch(rf"network\.beta <= ({NUMBER})", refusal[2])[1])
    assert refusal_or_none(_adaptive(v_th=0.1, tau_m=30.0, tau_a=tau_a, beta=bound)) is None


def _refuses_tag_kappa(raw) -> bool:
    refusal = refusal_or_none(raw)
    return refusal is not None and "tag: kappa" in refusal[3]


def test_a_tag_leak_under_the_smallest_scale_names_the_longest_tau_out_which_passes():
    """tau_out 200 ms: 1 - kappa = 0.004988 is under Lava's smallest scale 2^-7 = 0.0078.
    At the bound named, the tag leak passes (a later check may refuse the learning rate)."""
    raw = {"task": {"name": "pattern-generation"}, "network": {"tau_out": 200.0}}
    key, _, allowed, message = refusal_or_none(raw)
    bound = float(re.fullmatch(rf"network\.tau_out <= ({NUMBER})", allowed)[1])
    assert key == "network.tau_out" and "tag: kappa" in message and bound < 200
    raw["network"]["tau_out"] = bound
    assert not _refuses_tag_kappa(raw)


def test_a_tag_leak_between_two_scales_names_the_tau_out_gap_and_its_edges_pass():
    """Tolerance 0.05, tau_out 3 ms: 1 - kappa = 0.2835 lies between the scales 2^-2 and
    5*2^-4, more than 5% from either in leak and in time constant. At the edges of the
    gap named the tag leak passes (the x1 trace's tau/dt, no longer an integer, may not)."""
    raw = {"task": {"name": "pattern-generation"}, "network": {"tau_out": 3.0},
           "fixed_point": {"tolerance": 0.05, "warn_tolerance": 0.05}}
    key, _, allowed, message = refusal_or_none(raw)
    m = re.fullmatch(rf"network\.tau_out <= ({NUMBER}) or network\.tau_out >= ({NUMBER})",
                     allowed)
    assert key == "network.tau_out" and "tag: kappa" in message
    assert float(m[1]) < 3.0 < float(m[2])
    for edge in (float(m[1]), float(m[2])):
        raw["network"]["tau_out"] = edge
        assert not _refuses_tag_kappa(raw), edge


def test_a_tolerance_of_one_does_not_break_the_tag_leak_check():
    """Found by hypothesis: tolerance 1 made the accepted leak interval reach 0, whose
    time constant (infinite) was computed as a division by zero."""
    from compilers import compile_plan
    from lava_eprop.config import from_dict

    cfg = from_dict({"task": {"name": "pattern-generation", "input_rate_hz": 0.0},
                     "network": {"tau_out": 64.0, "dt": 0.5},
                     "fixed_point": {"tolerance": 1.0}})
    assert compile_plan(cfg).projections
