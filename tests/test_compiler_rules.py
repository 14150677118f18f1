"""The rule language: templates lower to Lava strings, shifts, and refusals."""
import warnings

import pytest
from lava.magma.core.learning.learning_rule import Loihi3FLearningRule

from compilers.checks import FixedPointWarning
from compilers.compile import compile_plan
from compilers.fixedpoint import Scale
from compilers.rules import TEMPLATES, lower, parse, rule_text
from lava_eprop.config import PRESETS, load
from lava_eprop.errors import UserError


def test_template_lowers_to_lava_syntax_with_signs_written_out():
    products = lower("dt", TEMPLATES["alif"]["dt"],
                     {"c_t": Scale(1, -7), "c_b": Scale(3, -7), "c_k": Scale(3, -6)})
    assert rule_text(products) == ("1*2^-7 * u0 * x1 * y2 - 3*2^-7 * u0 * y2 * d "
                                   "- 3*2^-6 * u0 * t")
    assert rule_text(lower("dw", TEMPLATES["lif"]["dw"], {"c_w": Scale(5, -7)})) == \
        "-5*2^-7 * u0 * t * (y3-64)"


# S = max(0, sum of widths + 4 - 15): traces 7 bits, t/d/w 9 bits.
SHIFTS = [("1*2^-7 * u0 * x1 * y2", 3), ("1*2^-7 * u0 * t", 0), ("1*2^-7 * u0 * t * (y3-64)", 5),
          ("1*2^-7 * u0 * y2 * d", 5), ("1*2^-7 * u0 * x1 * (y3-64)", 3)]


@pytest.mark.parametrize("text,shift", SHIFTS)
def test_products_carry_lavas_right_shift(text, shift):
    (product,) = parse("dt", text, "test")
    assert product.shift == shift
    assert product.coefficient == 2 ** -7 / 2 ** shift


BAD_RULES = [
    ("3*2^-7 * x1 * y2", "cannot read the product"),
    ("3*2^-7 * u1 * x1", "depends on u1"),
    ("3*2^-7 * u0 * t - 1*2^-7 * u2 * t", "depends on u2"),
    ("3*2^-7 * x0 * x1", "depends on x0"),
    ("9*2^-7 * u0 * t", "not representable"),
    ("3*2^-8 * u0 * t", "not representable"),
    ("8*2^8 * u0 * t", "not representable"),
    ("3*2^-7 * u0 * z1", "cannot read the product"),
    ("3*2^-7 * u0 * t * (y3-64", "unbalanced"),
    ("3*2^-7 * u0 * t)", "unbalanced"),
    ("", "non-empty"),
]


@pytest.mark.parametrize("text,message", BAD_RULES)
def test_rules_outside_the_grammar_are_refused_in_one_line(text, message):
    with pytest.raises(UserError, match=message) as info:
        parse("dw", text, "projection p, rule dw")
    assert "\n" not in str(info.value) and str(info.value).startswith("projection p, rule dw")


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_compiles_and_lava_parses_the_products_the_plan_states(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FixedPointWarning)
        plan = compile_plan(load(name))
    assert {p.name for p in plan.projections} >= {"input->" + plan.groups[0].name,
                                                  "recurrent->readout"}
    for proj in plan.projections:
        rule = proj.learning_rule()
        assert isinstance(rule, Loihi3FLearningRule)
        assert (rule.x1_impulse, rule.x1_tau, rule.t_epoch) == (proj.x1_impulse, proj.x1_tau, 1)
        for target, products in proj.products().items():
            lava = getattr(rule, target).products
            assert len(lava) == len(products)
            for ours, theirs in zip(products, lava):
                assert theirs.dependency == "u" and theirs.decimate_exponent == 0
                assert ours.sign * ours.scale.value == theirs.s_mantissa * 2.0 ** (theirs.s_exp - 7)
                assert [(f.state_var, f.const or 0) for f in theirs.factors] == list(ours.factors)
