"""Online e-prop (traces carried forward, one update per step) sums to the
batch gradient, which the exactness tests check against autograd."""
import pytest
from support import small_config, small_problem

from lava_eprop.reference.eprop import OnlineEprop, batch_gradients
from lava_eprop.reference.network import loss_terms, simulate
from lava_eprop.reference.neurons import initial_state, rec_step


@pytest.mark.parametrize("neuron,n_ref", [("lif", 0), ("alif", 3)])
@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_online_updates_sum_to_the_batch_gradient(neuron, n_ref, kind, rel_err):
    cfg = small_config(neuron, "random", refractory_steps=n_ref, readout_bias=True)
    w, p, x, targets, mask = small_problem(cfg, kind)
    rec = simulate(w, p, x)
    terms = loss_terms(rec, targets, mask, kind, 0.0, 10.0, p.dt)
    expected = batch_gradients(w, p, x, rec, terms)

    batch, steps, n_in = x.shape
    online = OnlineEprop(p, batch, n_in, 12, steps, 0.0, 10.0)
    state = initial_state((batch, 12))
    total = None
    for t in range(steps):
        state, psi = rec_step(state, p.s_in * (x[:, t] @ w.w_in.T + state.z @ w.w_rec.T), p)
        g = online.step(x[:, t], state.z, psi, terms.delta[:, t], w.fb)
        total = g if total is None else type(g)(*(a + b for a, b in zip(total, g)))
    for name in expected._fields:
        assert rel_err(getattr(total, name), getattr(expected, name)) < 1e-9, name
