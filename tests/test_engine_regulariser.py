"""The on-chip firing-rate regulariser: integer parameters and what the neuron adds to y3.

Expected values come from the float reference's definition (Bellec et al.
2020, Methods; :mod:`lava_eprop.reference.network`): the regulariser adds
``R_j = c_reg (f_j - f0) / (B T dt)`` to the learning signal of a loss whose
task term is divided by ``B`` (regression) or by the batch's ``B n_err``
error steps (classification). The chip's task error is one trial's,
undivided, so relative to it the signal is ``c_reg n_err (f_j - f0) / (T dt)``
(``n_err = 1`` for regression), and ``y3 - 64`` carries ``Lambda`` times it.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from lava_eprop.config import from_dict, preset_dict
from lava_eprop.engine import neurons
from lava_eprop.engine.spec import error_steps, reg_params
from lava_eprop.errors import UserError


def _cfg(**training):
    raw = preset_dict("pattern-generation")
    raw["training"].update(training)
    return from_dict(raw)


def test_parameters_of_the_pattern_generation_preset_by_hand():
    # c_reg 300, f0 10 Hz, B 1, T 1000 steps of 1 ms, tau 1000 ms, Lambda 128:
    # d = round(4096 / 1000) = 4, impulse 2^(10 + 2), f_target = 0.01 * 4096 * 4096 / 4,
    # Lambda K 2^16 = 128 * 300 * 4 / (1000 * 4096 * 4096) * 65536 = 0.6 = 154 / 2^8
    p = reg_params(_cfg(), 128.0, 1000)
    assert p == dict(f_decay=4, f_impulse=4096, f_target=41943, reg_mant=154, reg_shift=8)


def test_classification_scaling_by_hand():
    # evidence accumulation: c_reg 1, batch 32, n_err 150 recall steps, T 1700, Lambda 4:
    # Lambda K 2^16 = 4 * 1 * 150 * 4 / (1700 * 4096 * 4096) * 65536 = 0.0055147
    # = 180.7 / 2^15 (255 / 0.0055147 = 46240 < 2^16): mantissa 181, shift 15
    raw = preset_dict("evidence-accumulation")
    p = reg_params(from_dict(raw), 4.0, 1700, n_err=150.0)
    assert p == dict(f_decay=4, f_impulse=4096, f_target=41943, reg_mant=181, reg_shift=15)
    raw["training"]["batch_size"] = 1       # the chip learns trial by trial: B plays no part
    assert reg_params(from_dict(raw), 4.0, 1700, n_err=150.0) == p


def test_error_steps_per_trial():
    mask = np.array([[0, 0, 1, 1, 1], [0, 1, 1, 1, 1]])
    assert error_steps(mask, classification=True) == 3.5
    assert error_steps(mask, classification=False) == 1.0


def test_no_regulariser_without_reg_coeff():
    assert reg_params(_cfg(reg_coeff=0.0), 128.0, 1000) == {}


def test_unrepresentable_regulariser_is_refused():
    # Lambda K 2^16 = 128 * 1e6 * 4 / (10 * 4096 * 4096) * 65536 = 200000 > 255: the
    # largest c_reg is 1e6 * 255 / 200000 = 1275
    with pytest.raises(UserError, match=r"training\.reg_coeff = 1e\+06 .* reg_coeff <= 1275 "):
        reg_params(_cfg(reg_coeff=1e6), 128.0, 10)


def test_rate_decay_out_of_range_is_refused():
    raw = preset_dict("pattern-generation")
    raw["fixed_point"] = {"reg_tau_ms": 9000.0}
    with pytest.raises(UserError, match="fixed_point.reg_tau_ms = 9000"):
        reg_params(from_dict(raw), 128.0, 1000)


def _drive(period: int, steps: int, p: neurons.RecParams):
    """A neuron forced to spike every ``period`` steps (huge input on those steps)."""
    state = neurons.rec_initial((1,), p)
    g, f = [], []
    for t in range(steps):
        a_in = np.array([10 ** 5 if t % period == 0 else 0])
        state, out = neurons.rec_step(state, a_in, np.zeros(1, np.int64), p)
        g.append(int(out.y3[0]) - neurons.Y_OFFSET)
        f.append(int(state.f[0]))
    return np.array(g), np.array(f)


@pytest.mark.parametrize("period, rate_hz", [(10, 100.0), (100, 10.0), (50, 20.0)])
def test_y3_carries_lambda_times_the_regularisation_signal(period, rate_hz):
    lam, c, steps = 128.0, 300.0, 1000
    reg = reg_params(_cfg(reg_coeff=c), lam, steps)
    p = neurons.RecParams(du=4095, dv=4095, vth=64, n_ref=0, y2_mant=128, y2_shift=20,
                          l_shift=0, **reg)
    g, f = _drive(period, 8000, p)
    # the trace settles at impulse * (spikes per step) * 4096 / d (truncating decay: a bit below)
    settled = reg["f_impulse"] / period * 4096 / reg["f_decay"]
    assert f[-period:].mean() == pytest.approx(settled, rel=0.02)
    # y3 - 64 sums to Lambda * c (f - f0) / (B T dt) per step, f in spikes per ms
    want = lam * c * (1.0 / period - 0.010) / (1 * steps * 1.0)
    late = g[-4000:]
    assert late.mean() == pytest.approx(want, rel=0.03, abs=0.01)
    assert set(np.unique(late)) <= {math.floor(want) - 1, math.floor(want), math.ceil(want),
                                    math.ceil(want) + 1}


def test_sub_unit_signal_is_kept_by_the_residual():
    """A silent neuron's signal (-0.384 of a y3 unit per step here) would round to 0
    on every step; the residual makes y3 - 64 = -1 on 38.4% of them."""
    reg = reg_params(_cfg(), 128.0, 1000)
    p = neurons.RecParams(du=4095, dv=4095, vth=64, n_ref=0, y2_mant=128, y2_shift=20,
                          l_shift=0, **reg)
    state = neurons.rec_initial((1,), p)._replace(f=np.zeros(1, np.int64))   # rate 0
    g = []
    for _ in range(1000):
        state, out = neurons.rec_step(state, np.array([-10 ** 5]), np.zeros(1, np.int64), p)
        g.append(int(out.y3[0]) - neurons.Y_OFFSET)
    assert set(g) == {-1, 0}
    assert np.mean(g) == pytest.approx(-128 * 300 * 0.010 / 1000, abs=0.002)


def test_initial_rate_trace_is_the_target():
    reg = reg_params(_cfg(), 128.0, 1000)
    p = neurons.RecParams(du=4095, dv=4095, vth=64, n_ref=0, y2_mant=128, y2_shift=20,
                          l_shift=0, **reg)
    assert neurons.rec_initial((3,), p).f.tolist() == [41943] * 3
