"""e-prop's gradient against PyTorch autograd of the same network.

The independent judge is torch.autograd on the torch forward pass of
lava_eprop.reference.bptt. With the recurrent spike path and the reset
detached, autograd computes the gradient e-prop claims to compute (Bellec et
al. 2020, Methods); with zero recurrent weights, symmetric e-prop equals BPTT
of the network (whose reset carries no gradient, see bptt.py).
"""
import numpy as np
import pytest
from support import small_config, small_problem

from lava_eprop.reference.bptt import autograd_gradients
from lava_eprop.reference.eprop import batch_gradients
from lava_eprop.reference.network import loss_terms, simulate

pytestmark = pytest.mark.lava     # BPTT needs PyTorch (the dl extra)

REG = dict(reg_coeff=5.0, reg_rate_hz=10.0)
CASES = [
    # neuron, kind, refractory steps, input scaling
    ("lif", "regression", 0, True),
    ("lif", "classification", 3, False),
    ("alif", "regression", 2, False),
    ("alif", "classification", 5, True),
]


def eprop_and_autograd(cfg, kind, **autograd_kw):
    w, p, x, targets, mask = small_problem(cfg, kind)
    rec = simulate(w, p, x)
    terms = loss_terms(rec, targets, mask, kind, REG["reg_coeff"], REG["reg_rate_hz"], p.dt)
    grads = batch_gradients(w, p, x, rec, terms)
    reference, _ = autograd_gradients(w, p, x, targets, mask, kind, REG["reg_coeff"],
                                      REG["reg_rate_hz"], **autograd_kw)
    # the test is only meaningful if the network spikes and psi is active
    assert 0.005 < rec.z.mean() < 0.5 and (rec.psi > 0).mean() > 0.02
    return grads, reference


@pytest.mark.parametrize("feedback", ["symmetric", "random"])
@pytest.mark.parametrize("neuron,kind,n_ref,scaling", CASES)
def test_eprop_equals_autograd_with_recurrence_and_reset_detached(
        neuron, kind, n_ref, scaling, feedback, rel_err):
    cfg = small_config(neuron, feedback, refractory_steps=n_ref, input_scaling=scaling,
                       readout_bias=True)
    grads, reference = eprop_and_autograd(cfg, kind, detach_recurrent=True,
                                          random_feedback=feedback == "random")
    for name in grads._fields:
        assert rel_err(getattr(grads, name), getattr(reference, name)) < 1e-6, name


@pytest.mark.parametrize("neuron", ["lif", "alif"])
@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_symmetric_eprop_equals_bptt_without_recurrent_weights(neuron, kind, rel_err):
    cfg = small_config(neuron, "symmetric", w_rec_scale=0.0, refractory_steps=2)
    grads, reference = eprop_and_autograd(cfg, kind, detach_recurrent=False)
    for name in ("w_in", "w_out", "b_out"):
        assert rel_err(getattr(grads, name), getattr(reference, name)) < 1e-6, name
    # with W_rec = 0, its gradient is still defined: e-prop's equals BPTT's
    assert rel_err(grads.w_rec, reference.w_rec) < 1e-6


@pytest.mark.parametrize("neuron", ["lif", "alif"])
def test_eprop_differs_from_bptt_once_recurrence_carries_gradient(neuron, rel_err):
    # guards the two tests above: the comparison can detect a missing path
    cfg = small_config(neuron, "symmetric", w_rec_scale=2.0)
    grads, reference = eprop_and_autograd(cfg, "regression", detach_recurrent=False)
    assert rel_err(grads.w_in, reference.w_in) > 1e-3


def test_eprop_differs_from_bptt_when_the_reset_carries_gradient(rel_err):
    cfg = small_config("lif", "symmetric", w_rec_scale=0.0)
    grads, reference = eprop_and_autograd(cfg, "regression", detach_recurrent=False,
                                          detach_reset=False)
    assert rel_err(grads.w_in, reference.w_in) > 1e-3


def test_random_feedback_changes_the_recurrent_gradient_but_not_the_readout(rel_err):
    cfg = small_config("lif", "random")
    w, p, x, targets, mask = small_problem(cfg, "regression")
    rec = simulate(w, p, x)
    terms = loss_terms(rec, targets, mask, "regression", 0.0, 10.0, p.dt)
    random_fb = batch_gradients(w, p, x, rec, terms)
    w.fb = w.w_out.T.copy()
    symmetric = batch_gradients(w, p, x, rec, terms)
    assert rel_err(random_fb.w_in, symmetric.w_in) > 0.1
    np.testing.assert_array_equal(random_fb.w_out, symmetric.w_out)


def test_float32_gradient_is_close_to_float64(rel_err):
    cfg = small_config("alif", "symmetric", refractory_steps=2)
    w, p, x, targets, mask = small_problem(cfg, "classification")
    rec = simulate(w, p, x)
    g64 = batch_gradients(w, p, x, rec, loss_terms(rec, targets, mask, "classification", 0, 10, 1))
    w32, x32 = w.astype(np.float32), x.astype(np.float32)
    rec32 = simulate(w32, p, x32)
    np.testing.assert_array_equal(rec32.z, rec.z)
    g32 = batch_gradients(w32, p, x32, rec32,
                          loss_terms(rec32, targets, mask, "classification", 0, 10, 1))
    assert g32.w_in.dtype == np.float32
    assert rel_err(g32.w_in, g64.w_in) < 1e-4
