"""Training with the float reference: e-prop (batch or online) or BPTT.

Iteration ``k`` draws a batch with the run's generator, computes the update
and applies the optimiser. Symmetric feedback keeps ``B = W_out^T`` after
every update; adaptive feedback applies ``W_out``'s update (transposed) to
``B``; random feedback leaves ``B`` fixed.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from lava_eprop.checkpoint import TrainState
from lava_eprop.config import Config
from lava_eprop.errors import NumericalError, UserError
from lava_eprop.initial import INIT_WITH_RESUME, check_initial
from lava_eprop.reference import bptt
from lava_eprop.reference.eprop import Grads, OnlineEprop, batch_gradients
from lava_eprop.reference.network import (
    Record,
    error_steps_per_sequence,
    loss_terms,
    record_buffers,
    simulate,
    single_thread_blas,
    softmax,
    task_loss,
    with_single_thread_blas,
)
from lava_eprop.reference.neurons import initial_state, rec_step
from lava_eprop.reference.optim import make_optimizer, trained_parameters
from lava_eprop.reference.params import NetParams, Weights, init_weights, net_params
from lava_eprop.resources import EVAL_CHUNK
from lava_eprop.tasks import Batch, Task
from lava_eprop.training.common import (
    Evaluation,
    TrainResult,
    check_evaluation,
    iteration_bar,
    lr_factor,
    score,
    show_progress,
)


@with_single_thread_blas
def evaluate(w: Weights, p: NetParams, task: Task, batch: Batch,
             buffers: Buffers | None = None, chunk: int = EVAL_CHUNK,
             spikes: bool = True) -> Evaluation:
    """Task loss and NMSE (regression) or accuracy (classification).

    The trials are simulated ``chunk`` at a time, in ``buffers`` (new ones if
    None), keeping only their readout and, with ``spikes``, their spikes: a
    trial's simulation does not depend on the others in its batch, and the
    loss and score are computed once over all of them, so the result is that
    of simulating all trials at once.
    """
    buffers = Buffers() if buffers is None else buffers
    n_trials, n_steps, _ = batch.inputs.shape
    dtype = w.w_in.dtype
    z = np.empty((n_trials, n_steps, w.w_rec.shape[0]), bool) if spikes else None
    y = np.empty((n_trials, n_steps, w.w_out.shape[0]), dtype)
    for start in range(0, n_trials, chunk):
        part = slice(start, start + chunk)
        x = batch.inputs[part].astype(dtype)
        rec = simulate(w, p, x, buffers=buffers.get(x, w))
        y[part] = rec.y
        if spikes:
            z[part] = rec.z
    rec = Record(z=z, v=None, a=None, psi=None, y=y)
    return score(rec, batch, task.kind, task_loss(y, batch.targets, batch.mask, task.kind)[0])


def reg_conventions(cfg: Config) -> dict:
    """The regulariser's conventions of ``cfg.training`` as
    :func:`~lava_eprop.reference.network.loss_terms` and
    :func:`~lava_eprop.reference.bptt.autograd_gradients` take them."""
    t = cfg.training
    return dict(reg_rate_over=t.reg_rate_over, reg_per_error_step=t.reg_per_error_step)


def _grads_of(g: Grads, params: dict) -> dict:
    grads = {k: getattr(g, k) for k in params if k != "fb"}
    if "fb" in params:
        grads["fb"] = g.w_out.T
    return grads


class _Updater:
    """Applies gradients through the optimiser and keeps the feedback in sync."""

    def __init__(self, w: Weights, cfg: Config):
        self.w, self.cfg = w, cfg
        self.params = trained_parameters(w, cfg)
        self.opt = make_optimizer(cfg.training.optimizer, cfg.training.learning_rate,
                                  cfg.training.adam)

    def set_iteration(self, iteration: int) -> None:
        """Learning rate of this iteration: ``lr * lr_decay^(iteration // lr_decay_every)``."""
        t = self.cfg.training
        self.opt.lr = t.learning_rate * lr_factor(t, iteration)

    def apply(self, g: Grads) -> None:
        self.opt.step(self.params, _grads_of(g, self.params))
        if self.cfg.training.feedback == "symmetric":
            self.w.fb[...] = self.w.w_out.T


def _step_error(y: np.ndarray, batch: Batch, t: int, kind: str, n_masked: float
                ) -> tuple[float, np.ndarray]:
    """Loss contribution and readout error ``dE/dy[t]`` of one step (see loss_terms)."""
    m = batch.mask[:, t, None].astype(y.dtype)
    if kind == "regression":
        err = (y - batch.targets[:, t]) * m
        return 0.5 * float(np.sum(err * err)) / y.shape[0], err / y.shape[0]
    onehot = np.eye(y.shape[1], dtype=y.dtype)[batch.targets[:, t]]
    pi = softmax(y)
    picked = np.maximum(np.sum(pi * onehot, -1), np.finfo(y.dtype).tiny)
    return -float(np.sum(np.log(picked) * m[:, 0])) / n_masked, (pi - onehot) * m / n_masked


def _online_iteration(w: Weights, p: NetParams, batch: Batch, kind: str, cfg: Config,
                      updater: _Updater) -> float:
    """One sequence of online e-prop: the weights change after every step."""
    t_cfg = cfg.training
    x = batch.inputs.astype(w.w_in.dtype)
    size, steps, n_in = x.shape
    n_rec, n_out = w.w_rec.shape[0], w.w_out.shape[0]
    n_err = error_steps_per_sequence(batch.mask) if t_cfg.reg_per_error_step else 1.0
    online = OnlineEprop(p, size, n_in, n_rec, steps, t_cfg.reg_coeff, t_cfg.reg_rate_hz,
                         dtype=x.dtype, per_sequence=t_cfg.reg_rate_over == "sequence",
                         n_err=n_err)
    state = initial_state((size, n_rec), dtype=x.dtype)
    y = np.zeros((size, n_out), dtype=x.dtype)
    n_masked = max(float(batch.mask.sum()), 1.0)
    loss = 0.0
    with single_thread_blas():
        for t in range(steps):
            i_syn = p.s_in * (x[:, t] @ w.w_in.T + state.z @ w.w_rec.T)
            state, psi = rec_step(state, i_syn, p)
            y = p.kappa * y + p.s_out * (state.z @ w.w_out.T + w.b_out)
            step_loss, delta = _step_error(y, batch, t, kind, n_masked)
            loss += step_loss
            updater.apply(online.step(x[:, t], state.z, psi, delta, w.fb))
    return loss


def compact_spikes(batch: Batch) -> Batch:
    """``batch`` with its inputs as bool if they are all 0 or 1 (and no -0): an eighth
    of float64's memory, and the same values when cast back."""
    x = batch.inputs
    if np.all((x == 0) | (x == 1)) and not np.signbit(x).any():
        return Batch(x.astype(bool), batch.targets, batch.mask)
    return batch


class Buffers:
    """The arrays that simulations of one run write into, kept across calls (the
    training batches and the held-out chunks share them); without ``v`` and ``a``,
    which neither the loss nor the gradient reads."""

    def __init__(self):
        self._arrays = None

    def get(self, x: np.ndarray, w: Weights) -> dict:
        """:func:`~lava_eprop.reference.network.record_buffers` for a simulation of
        ``w`` on ``x``: the first trials of the kept ones when they are large enough,
        else new ones, which are kept."""
        batch, steps = x.shape[:2]
        kept = self._arrays
        if kept is None or kept["z"].shape[0] < batch \
                or kept["z"].shape[1:] != (steps, w.w_rec.shape[0]) \
                or kept["z"].dtype != w.w_in.dtype:
            self._arrays = kept = record_buffers(batch, steps, w.w_rec.shape[0], w.w_in.dtype,
                                                 state=False)
        return {name: array[:batch] for name, array in kept.items()}


def _check_finite(w: Weights, loss: float, iteration: int) -> None:
    if not np.isfinite(loss):
        raise NumericalError(f"iteration {iteration}: the loss became {loss} (NaN or Inf); "
                             "lower training.learning_rate")
    for name, arr in w.as_dict().items():
        if not np.all(np.isfinite(arr)):
            raise NumericalError(f"iteration {iteration}: weights {name} contain NaN or Inf; "
                                 "lower training.learning_rate")


@with_single_thread_blas
def train_float(cfg: Config, task: Task, progress: bool | Callable = True,
                checkpoint: Callable[[TrainState], None] | None = None,
                checkpoint_every: int | None = None,
                resume: TrainState | None = None,
                initial: Weights | None = None) -> TrainResult:
    """Train the float reference network on ``task`` as ``cfg.training`` says.

    Every ``checkpoint_every`` iterations ``checkpoint`` receives the run's
    :class:`~lava_eprop.checkpoint.TrainState`; passing such a state as
    ``resume`` continues the run exactly where it was taken. ``initial``
    weights replace the seed's random ones (:mod:`lava_eprop.initial`). BLAS
    runs on one thread, so the result does not depend on the machine's cores.
    """
    if initial is not None and resume is not None:
        raise UserError(INIT_WITH_RESUME)
    t = cfg.training
    dtype = np.dtype(t.dtype).type
    rng = np.random.default_rng(t.seed)
    p = net_params(cfg, dtype)
    w = init_weights(cfg, task.n_in, task.n_out, rng, dtype)   # drawn even with `initial`
    if initial is not None:
        w = check_initial(initial, cfg, task.n_in, task.n_out).astype(dtype)
    w0 = w.copy()
    first = 0
    if resume is not None:
        w, w0 = resume.weights.astype(dtype), resume.initial_weights.astype(dtype)
        rng.bit_generator.state = resume.rng_state
        first = resume.iteration
    task.seek(first * t.batch_size)
    updater = _Updater(w, cfg)
    held = compact_spikes(task.held_out(t.eval_trials, t.seed))
    # every simulation of the run (training batches, held-out chunks) writes into these
    buffers, chunk = Buffers(), max(t.batch_size, EVAL_CHUNK)
    initial_evaluation = evaluate(w0, p, task, held, buffers, chunk, spikes=False)
    result = TrainResult(weights=w, initial_weights=w0,
                         initial=check_evaluation(initial_evaluation, "before training"),
                         final=None)
    if resume is not None:
        updater.opt.load_state(resume.optimizer)
        result.loss_curve, result.eval_curve = list(resume.loss_curve), list(resume.eval_curve)
        result.steps_simulated, result.seconds = resume.steps_simulated, resume.seconds
    start = time.perf_counter() - result.seconds
    bar = iteration_bar(progress, first, t.iterations, f"train {task.name} ({t.method})")
    latest = None  # the last held-out evaluation; the loop's last iteration makes one
    for it in bar:
        batch = task.sample(t.batch_size, rng)
        x = batch.inputs.astype(dtype, copy=False)
        updater.set_iteration(it)
        if t.method == "bptt":
            grads, loss = bptt.autograd_gradients(
                w, p, x, batch.targets, batch.mask, task.kind, t.reg_coeff, t.reg_rate_hz,
                detach_reset=not t.bptt_reset_gradient, **reg_conventions(cfg))
            updater.apply(grads)
        elif t.update == "online":
            loss = _online_iteration(w, p, batch, task.kind, cfg, updater)
        else:
            arrays = buffers.get(x, w)
            rec = simulate(w, p, x, buffers=arrays)
            terms = loss_terms(rec, batch.targets, batch.mask, task.kind, t.reg_coeff,
                               t.reg_rate_hz, p.dt, **reg_conventions(cfg))
            loss = terms.task
            updater.apply(batch_gradients(w, p, x, rec, terms, scratch=arrays["drive_in"]))
        _check_finite(w, loss, it)
        result.loss_curve.append(float(loss))
        result.steps_simulated += x.shape[0] * x.shape[1]
        if (it + 1) % t.eval_every == 0 or it + 1 == t.iterations:
            # only the final evaluation's spikes are kept (metrics, raster plot)
            latest = check_evaluation(evaluate(w, p, task, held, buffers, chunk,
                                               spikes=it + 1 == t.iterations),
                                      f"iteration {it}")
            score = latest.nmse if latest.nmse is not None else latest.accuracy
            result.eval_curve.append([it + 1, latest.loss, score])
        show_progress(bar, loss, result, task.kind)
        if checkpoint is not None and checkpoint_every and (it + 1) % checkpoint_every == 0:
            checkpoint(TrainState(
                iteration=it + 1, weights=w, initial_weights=w0,
                optimizer=updater.opt.state(), rng_state=rng.bit_generator.state,
                loss_curve=result.loss_curve, eval_curve=result.eval_curve,
                steps_simulated=result.steps_simulated,
                seconds=time.perf_counter() - start))
    result.seconds = time.perf_counter() - start
    result.final = latest if latest is not None else check_evaluation(
        evaluate(w, p, task, held, buffers, chunk), "after training")
    return result
