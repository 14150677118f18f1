"""The compiled time loops of the float reference give the NumPy/SciPy path's bits.

:mod:`lava_eprop.reference.compiled` against the specification it replaces
(``fused=False``): :func:`rec_step` per step in :func:`simulate`,
``scipy.signal.lfilter`` in :func:`leaky_filter` and the NumPy adjoint loop
of ``_post_factor``. Equality is of the bytes (signed zeros and subnormals
included), in float64 and float32, LIF and ALIF, regression and
classification, refractory or not, and for whole e-prop gradients.
"""
import numpy as np
import pytest
from support import small_config, small_problem

from lava_eprop.reference import eprop
from lava_eprop.reference.eprop import batch_gradients
from lava_eprop.reference.network import Record, leaky_filter, loss_terms, simulate
from lava_eprop.reference.params import NetParams

CASES = [("lif", "regression", 0), ("alif", "classification", 5), ("alif", "regression", 2)]


def _bytes(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


def _assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(_bytes(a), _bytes(b))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("neuron,kind,n_ref", CASES)
def test_compiled_simulation_and_gradients_equal_numpy_bit_for_bit(neuron, kind, n_ref, dtype):
    mixed = {"n_adaptive": 6} if neuron == "alif" else {}
    cfg = small_config(neuron, refractory_steps=n_ref, **mixed)
    w, p, x, targets, mask = small_problem(cfg, kind, batch=4, steps=120)
    w = w.astype(dtype)
    p = NetParams(**{**p.__dict__, "beta": p.beta.astype(dtype)})
    x = x.astype(dtype)
    records = [simulate(w, p, x, fused=f) for f in (True, False)]
    assert 0.005 < records[1].z.mean() < 0.5
    for name in Record._fields:
        _assert_same_bits(getattr(records[0], name), getattr(records[1], name))
    terms = loss_terms(records[1], targets, mask, kind, 5.0, 10.0, p.dt)
    grads = [batch_gradients(w, p, x, records[1], terms, fused=f) for f in (True, False)]
    for a, b in zip(*grads):
        _assert_same_bits(a, b)


def _awkward(rng, shape, dtype):
    """Values with runs of +0 and -0, subnormals and both signs."""
    x = rng.standard_normal(shape)
    x[:, : shape[1] // 3] = 0.0
    x[:, : shape[1] // 6] *= -1.0
    x[:, -shape[1] // 5:] = -0.0
    x[0, 3:7] = 1e-310
    x[-1, 5:9] = -1e-320
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("decay,scale", [(0.951, 0.049), (0.5, 1.0), (1e-300, 1e-10)])
def test_compiled_leaky_filter_equals_lfilter_bit_for_bit(dtype, reverse, decay, scale):
    x = _awkward(np.random.default_rng(2), (5, 90, 7), dtype)
    expected = leaky_filter(x, decay, scale, reverse=reverse, fused=False)
    _assert_same_bits(leaky_filter(x, decay, scale, reverse=reverse), expected)
    _assert_same_bits(leaky_filter(x.copy(), decay, scale, reverse=reverse, overwrite=True),
                      expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("adaptive", [False, True])
def test_compiled_post_factor_equals_numpy_bit_for_bit(dtype, adaptive):
    rng = np.random.default_rng(3)
    signal = _awkward(rng, (4, 80, 9), dtype)
    psi = (np.abs(rng.standard_normal(signal.shape)) * (rng.random(signal.shape) < 0.7))
    beta = np.linspace(0.0, 2.0, 9) * adaptive
    p = NetParams(alpha=0.95, rho=0.9995, kappa=0.951, v_th=0.6, beta=beta.astype(dtype),
                  gamma=0.3, n_ref=5, s_in=0.05, s_out=0.049, dt=1.0, autapses=False)
    rec = Record(z=None, v=None, a=None, psi=psi.astype(dtype), y=None)
    reg = rng.standard_normal((4, 9)).astype(dtype)    # per sequence and neuron
    reg[:, :2] = -0.0
    _assert_same_bits(eprop._post_factor(rec, signal.copy(), reg, p, fused=True),
                      eprop._post_factor(rec, signal.copy(), reg, p, fused=False))
