"""The optimisers against independent computations: TensorFlow 1's Adam formula
derived by hand, and torch.optim (bias-corrected Adam, SGD)."""
import math

import numpy as np
import pytest
import torch

from lava_eprop.reference.optim import SGD, Adam, make_optimizer

# Gradients where eps placement matters: sqrt(v) ~ 3e-9 at step 1, below eps = 1e-8.
TINY_GRADS = [np.array([1e-7, -3e-7, 2e-8]), np.array([-2e-7, 1e-7, 5e-8])]


def tf1_adam_by_hand(w0, grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    """tf.train.AdamOptimizer as its documentation states it, element by element:
    lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    w -= lr_t m / (sqrt(v) + eps)."""
    w = [float(x) for x in w0]
    m, v = [0.0] * len(w), [0.0] * len(w)
    for t, g in enumerate(grads, start=1):
        lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for i, gi in enumerate(g):
            m[i] = b1 * m[i] + (1 - b1) * float(gi)
            v[i] = b2 * v[i] + (1 - b2) * float(gi) ** 2
            w[i] -= lr_t * m[i] / (math.sqrt(v[i]) + eps)
    return np.array(w)


def _run(opt, w0, grads):
    params = {"w": w0.copy()}
    for g in grads:
        opt.step(params, {"w": g})
    return params["w"]


@pytest.mark.parametrize("steps", [1, 2])
def test_adam_default_is_tensorflow1s_on_gradients_where_eps_matters(steps):
    w0 = np.array([0.5, -0.25, 1.0])
    got = _run(make_optimizer("adam", 0.01), w0, TINY_GRADS[:steps])
    want = tf1_adam_by_hand(w0, TINY_GRADS[:steps], 0.01)
    np.testing.assert_allclose(got - w0, want - w0, rtol=1e-12)


@pytest.mark.parametrize("steps", [1, 2])
def test_bias_corrected_adam_misses_tensorflow1s_step_where_eps_matters(steps):
    # the check above would fail for this form: its first step on |g| = 1e-7 is
    # g / (|g| + eps) = 0.91 lr against TF1's sqrt(1e-3) g / (sqrt(1e-3) |g| + eps) = 0.24 lr
    w0 = np.array([0.5, -0.25, 1.0])
    got = _run(make_optimizer("adam", 0.01, "bias_corrected"), w0, TINY_GRADS[:steps])
    want = tf1_adam_by_hand(w0, TINY_GRADS[:steps], 0.01)
    ratio = np.abs((got - w0) / (want - w0))
    assert ratio.max() > 1.5


def test_adam_forms_agree_where_gradients_dwarf_eps():
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(4)]
    tf1 = _run(Adam(0.01, form="tf1"), w0, grads)
    corrected = _run(Adam(0.01, form="bias_corrected"), w0, grads)
    np.testing.assert_allclose(tf1 - w0, corrected - w0, rtol=1e-5)


@pytest.mark.parametrize("ours,theirs", [
    (lambda: Adam(0.01, form="bias_corrected"), lambda p: torch.optim.Adam(p, lr=0.01)),
    (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1))])
@pytest.mark.parametrize("scale", [1.0, 1e-7])
def test_optimiser_matches_torch_over_several_steps(ours, theirs, scale):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3))
    grads = [scale * rng.standard_normal((4, 3)) for _ in range(5)]
    params = {"w": w0.copy()}
    opt = ours()
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = theirs([tw])
    for g in grads:
        opt.step(params, {"w": g})
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(params["w"] - w0, tw.detach().numpy() - w0, rtol=1e-10)


def test_adam_state_round_trip_continues_bit_identically():
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal(4)
    grads = [rng.standard_normal(4) * 1e-6 for _ in range(4)]
    for form in ("tf1", "bias_corrected"):
        whole = _run(Adam(0.01, form=form), w0, grads)
        first = Adam(0.01, form=form)
        half = _run(first, w0, grads[:2])
        second = Adam(0.01, form=form)
        second.load_state({k: np.array(a) for k, a in first.state().items()})
        np.testing.assert_array_equal(_run(second, half, grads[2:]), whole)


def test_unknown_adam_form_is_refused():
    with pytest.raises(ValueError, match="tf1, bias_corrected"):
        Adam(0.01, form="amsgrad")
