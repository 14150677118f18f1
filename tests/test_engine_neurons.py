"""The recurrent neuron step against values derived by hand from the equations
in lava_eprop/reference/neurons.py (Bellec et al. 2020, Methods)."""
import numpy as np
import pytest
from support import small_config

from lava_eprop.reference.neurons import initial_state, rec_step
from lava_eprop.reference.params import net_params


def run(p, currents):
    state = initial_state((1,))
    out = []
    for i in currents:
        state, psi = rec_step(state, np.array([i]), p)
        out.append((state.v[0], state.a[0], state.z[0], psi[0]))
    return np.array(out)


def test_lif_integrates_leaks_and_resets_by_subtraction():
    p = net_params(small_config("lif", tau_m=10.0, v_th=1.0))
    alpha = np.exp(-0.1)
    trace = run(p, [0.6, 0.6, 0.0, 0.0])
    v1 = 0.6
    v2 = alpha * v1 + 0.6           # 1.143 > 1: spike at step 2
    v3 = alpha * v2 - 1.0           # reset subtracts v_th one step later
    v4 = alpha * v3
    np.testing.assert_allclose(trace[:, 0], [v1, v2, v3, v4], rtol=1e-12)
    np.testing.assert_array_equal(trace[:, 2], [0, 1, 0, 0])


def test_pseudo_derivative_is_triangular_around_threshold():
    p = net_params(small_config("lif", v_th=0.5, dampening=0.3))
    # one step from rest: v = i_syn, distance to threshold = i - 0.5
    for i, expected in [(0.5, 0.3 / 0.5), (0.25, 0.3 / 0.5 * 0.5), (0.0, 0.0), (1.25, 0.0),
                        (0.75, 0.3 / 0.5 * 0.5)]:
        assert run(p, [i])[0, 3] == pytest.approx(expected, rel=1e-12)


def test_refractory_period_blocks_spikes_and_zeroes_psi():
    p = net_params(small_config("lif", tau_m=1e6, v_th=1.0, refractory_steps=3))
    trace = run(p, [2.0] * 8)
    # spike at step 0; steps 1 and 2 refractory; spike again at step 3, ...
    np.testing.assert_array_equal(trace[:, 2], [1, 0, 0, 1, 0, 0, 1, 0])
    assert trace[1, 3] == 0 and trace[2, 3] == 0


@pytest.mark.parametrize("n_ref", [0, 1])
def test_refractory_zero_or_one_means_none(n_ref):
    p = net_params(small_config("lif", tau_m=1e6, v_th=1.0, refractory_steps=n_ref))
    np.testing.assert_array_equal(run(p, [2.0] * 4)[:, 2], [1, 1, 1, 1])


def test_alif_threshold_rises_by_beta_after_a_spike_and_decays_with_rho():
    p = net_params(small_config("alif", tau_a=100.0, beta=0.5, v_th=1.0, tau_m=1e6))
    rho = np.exp(-0.01)
    trace = run(p, [1.5, 0.0, 0.0])
    # a[t] = rho a[t-1] + z[t-1]: 0, 1, rho
    np.testing.assert_allclose(trace[:, 1], [0.0, 1.0, rho], rtol=1e-12)
    # threshold at step 1 is 1 + 0.5 = 1.5; v = 1.5 - 1 (reset) = 0.5 -> no spike
    assert trace[1, 2] == 0


def test_default_beta_is_the_reference_heuristic():
    p = net_params(small_config("alif", tau_m=20.0, tau_a=2000.0, n_adaptive=4))
    alpha, rho = np.exp(-1 / 20), np.exp(-1 / 2000)
    assert np.count_nonzero(p.beta) == 4 and np.all(p.beta[:8] == 0)
    np.testing.assert_allclose(p.beta[-1], 1.7 * (1 - rho) / (1 - alpha), rtol=1e-12)
