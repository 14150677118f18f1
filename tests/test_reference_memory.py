"""The float reference's memory-lean paths compute the bits of the plain ones.

Held-out evaluation in chunks gives exactly the result of simulating all
trials at once. The expected values come from the unchunked computation
written out here:
one :func:`simulate` of every held-out trial, then :func:`loss_terms` and
:func:`score`. The chunked evaluation must agree to the last bit: a trial's
simulation does not depend on the other trials of its batch (every product
is per trial, and the BLAS kernels' summation order is the same for each row
of a matrix product), and the loss and score are reduced once, over all trials.
Likewise the training step's gradient, written into the simulation's spent
input drive and pseudo-derivative instead of new arrays, and a simulation
that does not keep ``v`` and ``a``.
"""
import numpy as np
import pytest

from lava_eprop import config
from lava_eprop.reference.eprop import batch_gradients
from lava_eprop.reference.network import loss_terms, record_buffers, simulate
from lava_eprop.reference.params import init_weights, net_params
from lava_eprop.tasks import make_task
from lava_eprop.training.common import score
from lava_eprop.training.reference import Buffers, evaluate

TASKS = {
    "evidence-accumulation": {"name": "evidence-accumulation", "n_in": 12, "t_cue": 20,
                              "t_interval": 30, "delay": 40, "recall_duration": 30},
    "pattern-generation": {"name": "pattern-generation", "n_in": 12, "n_steps": 120},
}


def _network(task_name: str):
    cfg = config.from_dict({"task": TASKS[task_name],
                            "network": {"n_rec": 24, "neuron": "alif", "n_adaptive": 12},
                            "training": {"eval_trials": 10}})
    task = make_task(cfg)
    p = net_params(cfg, np.float64)
    w = init_weights(cfg, task.n_in, task.n_out, np.random.default_rng(3), np.float64)
    return cfg, task, p, w


@pytest.mark.parametrize("task_name", list(TASKS))
@pytest.mark.parametrize("chunk", [1, 3, 4])
def test_chunked_evaluation_equals_all_trials_at_once(task_name, chunk):
    cfg, task, p, w = _network(task_name)
    held = task.held_out(10, 0)
    rec = simulate(w, p, held.inputs.astype(np.float64))
    expected = score(rec, held, task.kind,
                     loss_terms(rec, held.targets, held.mask, task.kind, 0.0,
                                cfg.training.reg_rate_hz, p.dt).task)
    assert rec.z.any()
    got = evaluate(w, p, task, held, Buffers(), chunk=chunk)
    assert (got.loss, got.nmse, got.accuracy) == (expected.loss, expected.nmse, expected.accuracy)
    assert np.array_equal(got.record.z, rec.z) and got.record.z.dtype == bool
    assert got.record.y.tobytes() == rec.y.tobytes()


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("task_name", list(TASKS))
def test_gradient_in_the_spent_arrays_equals_the_plain_gradient(task_name, fused):
    _, task, p, w = _network(task_name)
    batch = task.sample(6, np.random.default_rng(5))
    x = batch.inputs.astype(np.float64)
    rec = simulate(w, p, x, fused=fused)
    terms = loss_terms(rec, batch.targets, batch.mask, task.kind, 1.0, 10.0, p.dt)
    expected = batch_gradients(w, p, x, rec, terms, fused=fused)
    arrays = record_buffers(*x.shape[:2], w.w_rec.shape[0], state=False)
    lean = simulate(w, p, x, fused=fused, buffers=arrays)
    assert lean.v is None and lean.a is None
    assert lean.z.tobytes() == rec.z.tobytes() and lean.psi.tobytes() == rec.psi.tobytes()
    assert lean.psi.any()
    got = batch_gradients(w, p, x, lean, terms, fused=fused, scratch=arrays["drive_in"])
    assert np.abs(expected.w_rec).max() > 0
    for name, value in expected._asdict().items():
        assert getattr(got, name).tobytes() == value.tobytes(), name
