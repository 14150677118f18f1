"""The product's rule grammar, constants and rule objects equal Lava 0.10.0's.

Every rule string the compiler can emit (each template product with every
representable scale, whole templates, the presets and the property test's
configs) and the hand-written rules of the engine tests parse into the same
products as Lava's ``SymbolicEquation`` -> ``ProductSeries``; strings at the
edges of the grammar are parsed alike or refused by both.
"""
import warnings

import numpy as np
import pytest
from config_strategies import EDGES, RANGES, configs
from dense_scenarios import RULES_FOR_APPLIER, SCENARIOS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lava.magma.core.learning import constants as lava_constants
from lava.magma.core.learning import learning_rule as lava_rules
from lava.magma.core.learning import string_symbols as lava_symbols
from lava.utils import weightutils

from compilers.compile import compile_plan
from compilers.fixedpoint import magnitudes
from compilers.rules import TEMPLATES, lower, rule_text
from lava_eprop.config import PRESETS, from_dict, load
from lava_eprop.errors import UserError
from lava_eprop.loihi import constants, symbols
from lava_eprop.loihi.grammar import parse_rule
from lava_eprop.loihi.rule import LearningRule, as_learning_rule


def lava_products(series) -> tuple:
    return tuple((p.target, p.dependency, p.s_mantissa, p.s_exp, p.decimate_exponent,
                  tuple((f.state_var, f.const, f.is_sgn) for f in p.factors))
                 for p in series.products)


def ours(target: str, text: str):
    try:
        series = parse_rule(target, text)
    except ValueError:
        return "refused"
    return lava_products(series), series.decimate_exponent


def lavas(target: str, text: str):
    try:
        rule = lava_rules.LoihiLearningRule(**{target: text})
    except Exception:  # noqa: BLE001 -- Lava refuses some strings with other exception types
        return "refused"
    series = rule.active_product_series[target]
    return lava_products(series), series.decimate_exponent


def assert_same_rules(rules: dict) -> None:
    for target, text in rules.items():
        assert ours(target, text) == lavas(target, text) != "refused", (target, text)


def template_products():
    for neuron, rules in TEMPLATES.items():
        for target, template in rules.items():
            for term in template.replace(" - ", " + ").split(" + "):
                yield neuron, target, term.strip().lstrip("- ")


@pytest.mark.parametrize("neuron,target,term", list(template_products()))
def test_every_scale_of_every_template_product_parses_as_in_lava(neuron, target, term):
    name = term.split(" * ")[0]
    for scale in magnitudes():
        for sign in ("", "-"):
            text = sign + rule_text(lower(target, term, {name: scale}))
            assert ours(target, text) == lavas(target, text) != "refused", text


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_whole_templates_with_any_scales_parse_as_in_lava(data):
    for rules in TEMPLATES.values():
        for target, template in rules.items():
            names = sorted({t.split(" * ")[0].lstrip("- ") for t in
                            template.replace(" - ", " + ").split(" + ")})
            scales = {n: data.draw(st.sampled_from(magnitudes())) for n in names}
            assert_same_rules({target: rule_text(lower(target, template, scales))})


@pytest.mark.parametrize("name", PRESETS)
def test_preset_rules_parse_as_in_lava(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(load(name))
    for proj in plan.projections:
        assert_same_rules(proj.rules)


def compiled_rules_agree(raw) -> None:
    raw["fixed_point"]["warn_tolerance"] = raw["fixed_point"]["tolerance"] / 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = compile_plan(from_dict(raw))
    except UserError:
        return
    for proj in plan.projections:
        assert_same_rules(proj.rules)
        assert_same_objects(proj.rule(rng_seed=5), proj.learning_rule(rng_seed=5))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=configs(RANGES))
def test_rules_the_compiler_emits_parse_as_in_lava(raw):
    compiled_rules_agree(raw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=configs(EDGES))
def test_rules_the_compiler_emits_at_the_schema_edges_parse_as_in_lava(raw):
    compiled_rules_agree(raw)


def hand_written_rules():
    for name, scenario in SCENARIOS.items():
        rule = scenario.rule(1)
        for target in rule.active_product_series:
            yield name, target, getattr(rule, f"{target}_str")
    for i, text in enumerate(RULES_FOR_APPLIER):
        yield f"applier{i}", "dw", text


@pytest.mark.parametrize("name,target,text", list(hand_written_rules()))
def test_engine_tests_hand_written_rules_parse_as_in_lava(name, target, text):
    assert_same_rules({target: text})


EDGE_STRINGS = [
    "2^-2*x0*x1 - 2^-2*y0*y1 + x0*y0",       # x0 as dependency and as factor
    "u1*x1 + u1*2^-3*x2",                     # a decimated u
    "16*u0*x1", "-24*2^-3*u0*y1", "7*2^8*u0*x1", "8*2^7*u0*x1",  # mantissas folded or not
    "u0*x1*(2^3)", "u0*(-2^3)*x1", "u0*(x1+2^-1)",  # literals inside brackets
    "u0*(-x1+3)*y2", "u0*(3-x1)", "u0*(+5+y3)", "u0*(y3-64+1)",  # constants and signs
    "u0*sgn(w)", "u0*sgn(t-3)", "u0*sgn(-w+1)", "u0*sgn(x1)",   # sgn rules
    "x0*u0*x1",                               # uk after a spike dependency
    "x1*y2", "u0*x1*", "u0*(x1", "u0*x1)", "u0*x3", "u0*q", "", " ",  # refused
    "u0*x1 + u1*x2",                          # two k in one series
    "9*u0*x1", "u0*2^9*x1", "u0*2^-8*x1",     # scales outside the range
    "x1*-2^3*u0",                             # a product split at '-'
    "u0*x1\t*y2",                             # Lava strips spaces only
]


@pytest.mark.parametrize("text", EDGE_STRINGS)
def test_strings_at_the_edges_of_the_grammar_parse_or_fail_as_in_lava(text):
    assert ours("dt", text) == lavas("dt", text)


def test_constants_and_symbols_equal_lavas():
    for module, mine in ((lava_constants, constants), (lava_symbols, symbols)):
        names = [n for n in dir(module) if n.isupper()]
        assert names
        for name in names:
            assert getattr(mine, name) == getattr(module, name), name
    assert {m.name: m.value for m in constants.GradedSpikeCfg} == \
        {m.name: m.value for m in lava_constants.GradedSpikeCfg}
    assert {m.name: m.value for m in constants.SignMode} == \
        {m.name: m.value for m in weightutils.SignMode}


@pytest.mark.parametrize("mode", ["MIXED", "EXCITATORY", "INHIBITORY"])
@pytest.mark.parametrize("bits", [6, 8])
def test_clip_weights_equals_lavas(mode, bits):
    weights = np.random.default_rng(bits).integers(-400, 400, (13, 17))
    np.testing.assert_array_equal(
        constants.clip_weights(weights, constants.SignMode[mode], bits),
        weightutils.clip_weights(weights, weightutils.SignMode[mode], bits))
    assert constants.as_sign_mode(weightutils.SignMode[mode]) is constants.SignMode[mode]


def assert_same_objects(mine: LearningRule, theirs) -> None:
    assert type(mine.to_lava()) is type(theirs)
    for attr in ("t_epoch", "rng_seed", "decimate_exponent") + tuple(
            f"{t}_{p}" for t in ("x1", "x2", "y1", "y2", "y3") for p in ("impulse", "tau")):
        assert getattr(mine, attr) == getattr(theirs, attr), attr
    assert list(mine.active_product_series) == list(theirs.active_product_series)
    for target, series in mine.active_product_series.items():
        assert lava_products(series) == lava_products(theirs.active_product_series[target])


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_rule_objects_read_from_lava_equal_lavas(name):
    lava = SCENARIOS[name].rule(7)
    mine = as_learning_rule(lava)
    assert mine.kind == {"Loihi3FLearningRule": "3F", "Loihi2FLearningRule": "2F",
                         "LoihiLearningRule": "plain"}[type(lava).__name__]
    assert_same_objects(mine, lava)


def test_three_factor_rule_equals_lavas_loihi3f():
    kwargs = dict(dw="-2^-6*u0*t*y3", dt="2^-6*u0*x1*y2", x1_impulse=20.5, x1_tau=12,
                  t_epoch=2, rng_seed=3)
    assert_same_objects(LearningRule.three_factor(**kwargs),
                        lava_rules.Loihi3FLearningRule(**kwargs))


@pytest.mark.parametrize("kwargs", [dict(), dict(dw="u0*x1", x1_tau=-1),
                                    dict(dw="u0*x1", x1_impulse=-1),
                                    dict(dw="u0*x1", t_epoch=0), dict(dw="u0", dt="u1")])
def test_rule_objects_are_refused_where_lava_refuses_them(kwargs):
    with pytest.raises(ValueError):
        lava_rules.LoihiLearningRule(**kwargs)
    with pytest.raises(ValueError):
        LearningRule(**kwargs)
