"""The float reference's firing-rate regulariser under each of its conventions.

Expected values come from the conventions' formulas (docs/float-reference.md),
differentiated by PyTorch autograd, the independent judge of
test_reference_eprop_exactness.py. With rates ``f`` in spikes per ms over ``T`` steps of
``dt`` ms, ``B`` sequences and ``n_err`` masked steps per sequence:

* batch rate:    ``E = c/2 sum_j (f_j - f0)^2``, ``f_j = sum_{b,t} z / (B T dt)``
* sequence rate: ``E = c/(2B) sum_{b,j} (f_bj - f0)^2``, ``f_bj = sum_t z / (T dt)``
* averaged over the error steps: either divided by ``n_err``.
"""
import itertools

import numpy as np
import pytest
import torch
from support import small_config, small_problem

from lava_eprop.config import from_dict, preset_dict
from lava_eprop.reference.bptt import autograd_gradients
from lava_eprop.reference.eprop import OnlineEprop, batch_gradients
from lava_eprop.reference.network import loss_terms, simulate
from lava_eprop.tasks import make_task
from lava_eprop.training.reference import train_float

C_REG, F0_HZ = 40.0, 10.0
CONVENTIONS = list(itertools.product(("batch", "sequence"), (False, True)))


def regulariser_by_formula(z: torch.Tensor, mask: np.ndarray, dt: float, rate_over: str,
                           per_error_step: bool) -> torch.Tensor:
    batch, steps, _ = z.shape
    f0 = F0_HZ / 1000.0
    if rate_over == "batch":
        loss = C_REG / 2 * ((z.sum(dim=(0, 1)) / (batch * steps * dt) - f0) ** 2).sum()
    else:
        loss = C_REG / (2 * batch) * ((z.sum(dim=1) / (steps * dt) - f0) ** 2).sum()
    return loss / (mask.sum() / batch) if per_error_step else loss


@pytest.mark.parametrize("rate_over,per_error_step", CONVENTIONS)
@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_regulariser_and_its_signal_follow_the_formula(kind, rate_over, per_error_step):
    cfg = small_config("lif")
    w, p, x, targets, mask = small_problem(cfg, kind, batch=4)
    rec = simulate(w, p, x)
    terms = loss_terms(rec, targets, mask, kind, C_REG, F0_HZ, p.dt, reg_rate_over=rate_over,
                       reg_per_error_step=per_error_step)
    z = torch.tensor(rec.z, requires_grad=True)
    loss = regulariser_by_formula(z, mask, p.dt, rate_over, per_error_step)
    loss.backward()
    assert terms.reg == pytest.approx(float(loss), rel=1e-12)
    # dE/dz[b, t, j] is the same at every step t: the signal of sequence b, neuron j
    want = np.broadcast_to(terms.reg_signal[:, None, :], rec.z.shape)
    np.testing.assert_allclose(z.grad.numpy(), want, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("rate_over,per_error_step", CONVENTIONS)
@pytest.mark.parametrize("neuron,kind", [("lif", "regression"), ("alif", "classification")])
def test_eprop_equals_autograd_under_each_regulariser_convention(neuron, kind, rate_over,
                                                                 per_error_step, rel_err):
    cfg = small_config(neuron, "symmetric", refractory_steps=2, readout_bias=True)
    w, p, x, targets, mask = small_problem(cfg, kind, batch=4)
    conventions = dict(reg_rate_over=rate_over, reg_per_error_step=per_error_step)
    rec = simulate(w, p, x)
    terms = loss_terms(rec, targets, mask, kind, C_REG, F0_HZ, p.dt, **conventions)
    grads = batch_gradients(w, p, x, rec, terms)
    reference, _ = autograd_gradients(w, p, x, targets, mask, kind, C_REG, F0_HZ,
                                      detach_recurrent=True, **conventions)
    assert 0.005 < rec.z.mean() < 0.5 and (rec.psi > 0).mean() > 0.02
    for name in grads._fields:
        assert rel_err(getattr(grads, name), getattr(reference, name)) < 1e-6, name


def _gradient(cfg, kind, batch, **conventions):
    w, p, x, targets, mask = small_problem(cfg, kind, batch=batch)
    rec = simulate(w, p, x)
    return batch_gradients(w, p, x, rec, loss_terms(rec, targets, mask, kind, C_REG, F0_HZ,
                                                    p.dt, **conventions))


def test_sequence_and_batch_rates_differ_with_several_sequences_only(rel_err):
    # guards the tests above: with B > 1 the conventions give other gradients
    cfg = small_config("lif")
    per_batch = _gradient(cfg, "regression", 4, reg_rate_over="batch")
    per_sequence = _gradient(cfg, "regression", 4, reg_rate_over="sequence")
    assert rel_err(per_sequence.w_in, per_batch.w_in) > 1e-3
    one_batch = _gradient(cfg, "regression", 1, reg_rate_over="batch")
    one_sequence = _gradient(cfg, "regression", 1, reg_rate_over="sequence")
    np.testing.assert_allclose(one_sequence.w_in, one_batch.w_in, rtol=1e-12, atol=1e-18)


def test_averaging_over_error_steps_equals_reg_coeff_divided_by_n_err():
    cfg = small_config("alif")
    w, p, x, targets, mask = small_problem(cfg, "classification", batch=4)   # n_err = 10
    rec = simulate(w, p, x)
    averaged = loss_terms(rec, targets, mask, "classification", C_REG, F0_HZ, p.dt,
                          reg_per_error_step=True)
    scaled = loss_terms(rec, targets, mask, "classification", C_REG / 10, F0_HZ, p.dt)
    np.testing.assert_allclose(averaged.reg_signal, scaled.reg_signal, rtol=1e-14)
    assert averaged.reg == pytest.approx(scaled.reg, rel=1e-14)


@pytest.mark.parametrize("update", ["batch", "online"])
def test_training_config_selects_the_convention(update):
    raw = preset_dict("store-recall")     # its trials differ (pattern generation's do not)
    raw["task"].update(n_windows=4, window_steps=15)
    raw["network"].update(n_rec=15, n_adaptive=5)
    raw["training"].update(iterations=2, batch_size=3, eval_trials=2, update=update)

    def trained(**training):
        raw_cfg = {**raw, "training": {**raw["training"], **training}}
        cfg = from_dict(raw_cfg)
        return train_float(cfg, make_task(cfg), progress=False).weights.w_in

    default = trained()
    np.testing.assert_array_equal(trained(reg_rate_over="batch", reg_per_error_step=False),
                                  default)
    assert not np.array_equal(trained(reg_rate_over="sequence"), default)
    assert not np.array_equal(trained(reg_per_error_step=True), default)


def test_online_sequence_rate_averages_each_sequences_own_regulariser(rel_err):
    """Online, each sequence's running rate drives its own term: with no task error the
    batch's update is the mean of the updates each sequence gives alone (B = 1)."""
    cfg = small_config("alif")
    w, p, x, _, _ = small_problem(cfg, "regression", batch=3)
    rec = simulate(w, p, x)
    batch, steps, n_in = x.shape
    n_rec = w.w_rec.shape[0]

    def summed_update(seqs, per_sequence):
        online = OnlineEprop(p, len(seqs), n_in, n_rec, steps, C_REG, F0_HZ,
                             per_sequence=per_sequence, n_err=7.0)
        no_error = np.zeros((len(seqs), w.w_out.shape[0]))
        total = np.zeros_like(w.w_in)
        for t in range(steps):
            total += online.step(x[seqs, t], rec.z[seqs, t], rec.psi[seqs, t], no_error,
                                 w.fb).w_in
        return total

    together = summed_update([0, 1, 2], per_sequence=True)
    alone = sum(summed_update([b], per_sequence=False) for b in range(batch)) / batch
    assert np.abs(together).max() > 0
    assert rel_err(together, alone) < 1e-12
    assert rel_err(summed_update([0, 1, 2], per_sequence=False), alone) > 1e-3
