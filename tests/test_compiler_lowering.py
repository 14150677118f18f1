"""Lowering to Loihi's number formats, against values derived by hand."""
import math
import warnings

import numpy as np
import pytest

from compilers.checks import FixedPointWarning
from compilers.compile import compile_plan
from compilers.fixedpoint import (
    Scale,
    decay_12bit,
    lower_ceil,
    lower_nearest,
    magnitudes,
)
from lava_eprop.config import from_dict
from lava_eprop.errors import UserError

# Evidence accumulation as the reference code sets it up (explicit, so the derivations
# below do not follow edits of the preset): 50 LIF + 50 ALIF, v_th 0.6, tau_a 2 s,
# random feedback B ~ N(0, 1/100), eta 0.005.
EA = {"task": {"name": "evidence-accumulation", "n_in": 40, "input_rate_hz": 40.0},
      "network": {"n_rec": 100, "neuron": "alif", "n_adaptive": 50, "tau_m": 20.0,
                  "tau_a": 2000.0, "v_th": 0.6, "refractory_steps": 5, "tau_out": 20.0},
      "training": {"feedback": "random", "feedback_scale": 1.0, "learning_rate": 0.005,
                   "reg_rate_hz": 10.0}}


def compile_quietly(cfg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FixedPointWarning)
        return compile_plan(cfg)


def test_scale_magnitudes_span_2_to_minus_7_through_7_times_2_to_8():
    values = [s.value for s in magnitudes()]
    assert values[0] == 2 ** -7 and values[-1] == 7 * 2 ** 8
    assert 8 * 2 ** 8 not in values          # only -8*2^8 exists in Lava
    assert len(values) == len(set(values))


def test_scales_are_spelled_with_an_odd_mantissa():
    assert Scale.canonical(6, -7) == Scale(3, -6)
    assert Scale.canonical(8, -7) == Scale(1, -4)
    assert Scale.canonical(6, 8) == Scale(6, 8)   # exponent already at its maximum
    assert Scale(3, -6).literal() == "3*2^-6"


def test_kappa_of_tau_out_20_lowers_to_3_times_2_to_minus_6():
    # 1 - exp(-1/20) = 0.048771 = 6.243 * 2^-7: nearest is 6 * 2^-7 = 3 * 2^-6 = 0.046875,
    # so kappa is realised as 0.953125 and tau_out as -1/ln(0.953125) = 20.83 ms.
    assert lower_nearest(1 - math.exp(-1 / 20)) == Scale(3, -6)
    # 1 - exp(-1/30) = 0.032784 = 4.196 * 2^-7 -> 4 * 2^-7 = 2^-5
    assert lower_nearest(1 - math.exp(-1 / 30)) == Scale(1, -5)


def test_ceil_lowering_respects_the_range():
    assert lower_ceil(0.0026) == Scale(1, -7)      # below the smallest scale
    assert lower_ceil(0.01) == Scale(1, -6)        # 2 * 2^-7 is the next above 0.01
    assert lower_ceil(2000.0) is None              # beyond 7 * 2^8


def test_membrane_decay_is_12_bit():
    # 4096 (1 - exp(-1/20)) = 199.77 -> dv = 200, decay (4096 - 200) / 4096
    assert decay_12bit(math.exp(-1 / 20)) == 200
    assert decay_12bit(0.0) == 4095 and decay_12bit(1.0) == 0


def test_evidence_accumulation_input_rule_matches_the_hand_derivation():
    """Evidence accumulation (:data:`EA`), input -> LIF group.

    Weights: std 1/sqrt(40), range 4 std = 0.6325; v_th 0.6 -> Q = 2^13, vth 4915;
    0.6325 * 8192 = 5181 = 20.3 * 255 -> weight_exp 5, 256 integer units per unit weight.
    Learning signal: 2 outputs * 4 std of random B (1/sqrt(100)) * error 1 = 0.8
    -> y3 per unit L: 2^6 = 64. The tag's design point: ebar = s_out psi_max zbar /
    (1 - kappa_tag) = 0.048771 * 0.5 * 1 / 0.046875 = 0.5203 -> 255 / 0.5203 = 490.1;
    the weight rule would need 32 * 0.005 * 256 / (64 * 490.1) = 0.0013 < 2^-7, so it
    takes 2^-7 and the tag scale follows: T = 32 * 0.005 * 256 / (64 * 2^-7) = 81.92.
    y2 per psi: 127/(4915 << 6) * 2^19 = 211.67 -> 211 / 2^19, times vth_eff v_th / gamma
    = 253.18. Then c_t * x1_impulse = 8 * 81.92 * 0.048771 / 253.18 = 0.12625: with
    c_t = 2^-7, x1_impulse = 16.16 -> 16 (learning rate -0.99%, within 1%).
    """
    plan = compile_quietly(from_dict(EA))
    proj = plan.projection("input->lif")
    group = plan.group("lif")
    assert (group.vth, group.voltage_scale, group.dv, group.du) == (4915, 8192.0, 200, 4095)
    assert (group.y2_mant, group.y2_shift, group.y3_per_signal) == (211, 19, 64.0)
    assert group.y2_per_psi == pytest.approx(211 * 4915 * 64 / 2 ** 19 * 4915 / 8192 / 0.3)
    assert (proj.weight_exp, proj.weight_per_unit, proj.x1_impulse, proj.x1_tau) == (5, 256.0,
                                                                                      16, 20)
    assert proj.tag_per_unit == pytest.approx(81.92)
    assert proj.rules == {"dw": "-1*2^-7 * u0 * t * (y3-64)",
                          "dt": "1*2^-7 * u0 * x1 * y2 - 3*2^-6 * u0 * t"}
    eta = plan.approximation("input->lif: learning rate")
    assert eta.realised == pytest.approx(0.005 * 16 / 16.16, rel=2e-3)
    kappa = plan.approximation("tag: kappa")
    assert (kappa.requested, kappa.realised) == (pytest.approx(math.exp(-1 / 20)), 0.953125)
    assert kappa.tau_error == pytest.approx(-1 / math.log(0.953125) / 20 - 1)


def test_alif_eps_leak_of_tau_a_2000_is_held_in_y1():
    # q_max = (1 - rho) + beta psi_max = 0.0005 + 0.017424 * 0.5 = 0.0092: the y1 scale is
    # 32 / 2^-7 = 4096 (4096 * 0.0092 = 37.7 <= 127) and 4096 (1 - rho) = 2.05 -> y1_leak 2,
    # so rho is realised as 1 - 2/4096 (tau_a 2047.5 ms, +2.4%); beta_v = beta * 8192 * 64.
    plan = compile_quietly(from_dict(EA))
    alif = plan.group("alif").alif
    assert (alif.y1_per_leak, alif.y1_leak, alif.da) == (4096.0, 2, 2)
    assert alif.beta_v == round(1.7 * (1 - math.exp(-1 / 2000)) / (1 - math.exp(-1 / 20))
                                * 8192 * 64)
    rho = plan.approximation("alif: rho (eps leak)")
    assert rho.realised == 1 - 2 / 4096
    assert rho.tau_error == pytest.approx(-1 / math.log(1 - 2 / 4096) / 2000 - 1)
    assert plan.projection("recurrent->alif").rules["dd"].endswith("- 1*2^-7 * u0 * y1 * d")


def test_dropping_alif_eps_leaves_d_unused():
    plan = compile_quietly(from_dict({**EA, "fixed_point": {"drop_alif_eps": True}}))
    proj = plan.projection("recurrent->alif")
    assert set(proj.rules) == {"dw", "dt"} and proj.delay_per_unit is None
    assert " d" not in proj.rules["dt"] and plan.group("alif").alif.y1_per_leak is None
    assert not any("tag_2" in note for note in plan.notes)


def test_a_near_miss_warns_with_the_representation_error():
    # tau_out 40: 1 - kappa = 0.02469 = 3.16 * 2^-7 -> 3 * 2^-7, tau 42.2 ms (+5.4% > 5%)
    raw = {"task": {"name": "pattern-generation"}, "network": {"tau_out": 40.0}}
    with pytest.warns(FixedPointWarning, match=r"tag: kappa: .*time constant \+5\.\d+%"):
        compile_plan(from_dict(raw))


REFUSALS = [
    ({"network": {"tau_out": 200.0}},
     r"^network\.tau_out = 200: tag: kappa: .* time constant -36\.\d+% exceeds the tolerance"),
    ({"network": {"tau_m": 300.0}},
     (r"^network\.tau_m = 300: x1_tau = tau/dt = 300 steps at dt = 1 does not round to "
      r"1\.\.255 \(allowed: 0\.5 <= network\.tau_m < 255\.5\)$")),
    ({"fixed_point": {"weight_exp_in": 2}, "network": {"v_th": 0.6}},
     (r"^fixed_point\.weight_exp_in = 2: input weights up to 0\.4 become 819 > 255 .*"
      r"\(allowed: fixed_point\.weight_exp_in >= 4\)$")),
    ({"training": {"method": "bptt"}},
     r"^training\.method = 'bptt': only e-prop .* \(allowed: training\.method = 'eprop'\)$"),
    ({"network": {"dampening": 0.0}},
     r"^network\.dampening = 0: .*\(allowed: network\.dampening > 0\)$"),
    ({"network": {"neuron": "alif", "beta": 5.0, "v_th": 0.6}},
     r"^network\.beta = 5: rho - beta\*psi = .* \(allowed: network\.beta <= 1\.998\)$"),
    ({"task": {"input_rate_hz": 5000.0}, "network": {"tau_m": 20.0}},
     r"^task\.input_rate_hz = 5000: .* \(allowed: task\.input_rate_hz <= 1548\)$"),
    ({"training": {"learning_rate": 1e5}},
     r"^training\.learning_rate = 100000: .*exceeds Lava's largest, 7\*2\^8 \(allowed: "),
]


@pytest.mark.parametrize("overrides,message", REFUSALS)
def test_what_loihi_cannot_hold_is_refused_naming_parameter_value_and_range(overrides,
                                                                             message):
    raw = {"task": {"name": "pattern-generation"}}
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values}
    with pytest.raises(UserError, match=message) as info:
        compile_quietly(from_dict(raw))
    assert "\n" not in str(info.value)


def test_dataset_sizes_come_from_the_npz_and_its_input_rate_from_its_training_inputs(tmp_path):
    inputs = np.zeros((4, 5, 3))
    inputs[3] = 1.0                              # the held-out trial: not counted
    inputs[0, :3, 0] = inputs[2, 4, :] = 1.0     # 6 spikes in 3 trials x 5 steps x 3 channels
    np.savez(tmp_path / "d.npz", inputs=inputs, targets=np.array([0, 2, 1, 0]),
             held_out=np.array([3]))
    raw = {"task": {"name": "dataset", "path": str(tmp_path / "d.npz")},
           "network": {"n_rec": 100, "dt": 2.0}}
    plan = compile_quietly(from_dict(raw))
    assert plan.options["input_rate_hz"] == pytest.approx(6 / 45 * 1000 / 2.0)
    assert any("sized for 66.67 Hz, the mean rate of the dataset's training inputs" in note
               for note in plan.notes)
    assert plan.projection("input->alif").shape == (100, 3)
    assert plan.projection("recurrent->readout").shape == (3, 100)
    given = compile_quietly(from_dict({**raw, "fixed_point": {"input_rate_hz": 20.0}}))
    assert given.options["input_rate_hz"] == 20.0
    assert not any("training inputs" in note for note in given.notes)
