"""Metrics of the quantization report on constructed cases with hand-derived answers."""
import math

import numpy as np
import pytest

from lava_eprop.errors import UserError
from lava_eprop.quant import metrics as qm
from lava_eprop.quant.models import Trial
from lava_eprop.quant.report import _pair


def _spikes(steps=200, n=4, seed=0):
    return (np.random.default_rng(seed).random((steps, n)) < 0.05).astype(float)


def _trial(seed=0):
    rng = np.random.default_rng(seed)
    return Trial(z=_spikes(seed=seed), v=rng.standard_normal((200, 4)),
                 y=rng.standard_normal((200, 2)),
                 dw={"a": rng.standard_normal((4, 3)), "b": rng.standard_normal((2, 4))})


def test_identical_runs_have_zero_error_full_agreement_and_cosine_one():
    t = _trial()
    pair = _pair(t, t, tau_steps=20.0)
    assert pair["readout_rmse"] == 0 and pair["membrane_rmse"] == 0
    assert pair["spike_agreement"] == 1 and pair["van_rossum"] == 0
    assert pair["first_spike_difference_step"] == 200
    assert pair["dw_cosine"] == {"a": pytest.approx(1.0), "b": pytest.approx(1.0)}
    assert pair["dw_cosine_min"] == pytest.approx(1.0)
    assert max(pair["readout_rmse_per_step"]) == 0


def test_a_constant_offset_on_one_of_n_neurons_gives_rmse_offset_over_sqrt_n():
    """``sqrt(mean(d^2))`` with d = delta on 1 of 4 neurons, 0 elsewhere: delta / 2."""
    v = np.zeros((50, 4))
    shifted = v.copy()
    shifted[:, 2] += 0.3
    np.testing.assert_allclose(qm.rmse_per_step(v, shifted), 0.15)
    y = np.zeros((50, 1))
    np.testing.assert_allclose(qm.rmse_per_step(y, y + 0.25), 0.25)


def test_spike_agreement_counts_matched_spikes():
    """N spikes against the same N minus one: 2 (N - 1) / (2N - 1)."""
    a = np.zeros((100, 3))
    a[[5, 20, 40, 60, 80], [0, 1, 2, 0, 1]] = 1
    b = a.copy()
    b[40, 2] = 0
    assert qm.spike_agreement(a, b) == pytest.approx(2 * 4 / 9)
    moved = a.copy()
    moved[40, 2], moved[41, 2] = 0, 1                   # one spike one step late
    assert qm.spike_agreement(a, moved) == pytest.approx(2 * 4 / 10)
    assert qm.spike_agreement(a[:-1], moved[1:]) < 1    # the others do not move
    assert qm.spike_agreement(np.zeros((5, 2)), np.zeros((5, 2))) == 1
    assert qm.first_difference(a, moved) == 40


def test_van_rossum_of_one_unmatched_spike():
    """One extra spike at step 0 of L steps on one of n neurons: that neuron has
    ``D^2 = (1/tau) sum_k exp(-2k/tau) = (1/tau)(1 - e^(-2L/tau)) / (1 - e^(-2/tau))``,
    the others 0; the mean over neurons is D / n."""
    tau, steps, n = 10.0, 200, 4
    a, b = np.zeros((steps, n)), np.zeros((steps, n))
    a[0, 1] = 1
    d = math.sqrt((1 - math.exp(-2 * steps / tau)) / (1 - math.exp(-2 / tau)) / tau)
    assert qm.van_rossum(a, b, tau) == pytest.approx(d / n, rel=1e-12)
    assert d == pytest.approx(0.7427, abs=1e-4)          # about sqrt(1/2) for tau >> 1


def test_cosine_of_known_vectors():
    assert qm.cosine([1, 0], [1, 1]) == pytest.approx(1 / math.sqrt(2))
    assert qm.cosine([1, 0], [0, 2]) == 0
    assert qm.cosine([1, 2], [-2, -4]) == pytest.approx(-1)
    assert qm.cosine([0, 0], [0, 0]) == 1
    assert qm.cosine([0, 0], [1, 0]) == 0


def test_a_known_update_perturbation_gives_the_predicted_cosine():
    """dW and dW + p with p orthogonal to dW and |p| = |dW|: cosine 1/sqrt(2)."""
    t = _trial()
    dw = t.dw["a"]
    p = np.random.default_rng(5).standard_normal(dw.shape)
    p -= (p.ravel() @ dw.ravel()) / (dw.ravel() @ dw.ravel()) * dw
    p *= np.linalg.norm(dw) / np.linalg.norm(p)
    other = t._replace(dw={"a": dw + p, "b": t.dw["b"]})
    pair = _pair(t, other, tau_steps=20.0)
    assert pair["dw_cosine"]["a"] == pytest.approx(1 / math.sqrt(2))
    assert pair["dw_cosine_min"] == pytest.approx(1 / math.sqrt(2))


def test_fail_over_bounds_parse_and_say_which_way_is_worse():
    assert qm.parse_bounds(["twin_vs_fixed.readout_rmse=0.5", "fixed.final_accuracy=0.9"]) == \
        {"twin_vs_fixed.readout_rmse": 0.5, "fixed.final_accuracy": 0.9}
    for bad in ("twin_vs_fixed.readout_rmse", "=1", "x=abc", "x=nan", "x=inf"):
        with pytest.raises(UserError, match="malformed"):
            qm.parse_bounds([bad])
    with pytest.raises(UserError, match="unknown metric 'fixed.final_nmse'"):
        qm.check_names({"fixed.final_nmse": 1.0}, "classification")
    metrics = {"twin_vs_fixed.readout_rmse": 0.3, "twin_vs_fixed.dw_cosine_min": 0.8,
               "fixed.final_accuracy": 0.9}
    kind = "classification"
    assert qm.violations(metrics, {"twin_vs_fixed.readout_rmse": 0.3}, kind) == []
    assert qm.violations(metrics, {"twin_vs_fixed.readout_rmse": 0.2}, kind)   # above
    assert qm.violations(metrics, {"twin_vs_fixed.dw_cosine_min": 0.7}, kind) == []
    assert qm.violations(metrics, {"twin_vs_fixed.dw_cosine_min": 0.9}, kind)  # below
    assert qm.violations(metrics, {"fixed.final_accuracy": 0.95}, kind)


def test_every_report_metric_has_a_direction():
    for kind in ("regression", "classification"):
        directions = qm.metric_directions(kind)
        assert set(directions.values()) == {"above", "below"}
        assert directions["saturation.total"] == "above"
        assert all(directions[f"{p}.spike_agreement"] == "below" for p in qm.PAIRS)
