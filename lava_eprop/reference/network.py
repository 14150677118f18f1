"""Forward simulation of the recurrent network and its leaky readout (float).

Readout (reference-code convention: spikes reach the readout in the same
step; the filter is normalised by ``s_out = 1 - kappa`` when
``readout_scaling`` is on)::

    y[t] = kappa * y[t-1] + s_out * (W_out z[t] + b)

Losses, with ``mask[b, t]`` the steps that count:

* regression: ``E = 1/(2 B) * sum_{b,t,k} mask * (y - y*)^2`` (the reference
  pattern-generation loss, averaged over the batch);
* classification: ``E = mean over masked steps and trials of
  -log softmax(y)[label]`` (the reference evidence-accumulation loss);
* firing-rate regularisation (:func:`rate_regulariser`), rates in spikes per
  ms over the ``T`` steps of a sequence:

  - ``rate_over="batch"`` (default): ``E_reg = c_reg/2 * sum_j (f_j - f0)^2``
    with ``f_j`` the rate of neuron ``j`` over all steps and trials;
  - ``rate_over="sequence"``: ``E_reg = c_reg/(2 B) * sum_{b,j} (f_bj - f0)^2``
    with ``f_bj`` the rate of neuron ``j`` in sequence ``b`` (NEST's
    convention, whose optimiser averages the batch's gradients);
  - ``per_error_step``: either divided by ``n_err``, the mean number of masked
    (error) steps per sequence (NEST averages over its learning window).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from lava_eprop.reference import compiled
from lava_eprop.reference.neurons import initial_state, rec_step
from lava_eprop.reference.params import NetParams, Weights


def leaky_filter(x: np.ndarray, decay: float, scale: float, axis: int = 1,
                 reverse: bool = False, overwrite: bool = False,
                 fused: bool = True) -> np.ndarray:
    """``out[t] = decay * out[t-1] + scale * x[t]`` along ``axis`` (zero start).

    With ``reverse`` the recursion runs backwards in time:
    ``out[t] = decay * out[t+1] + scale * x[t]``. ``scipy.signal.lfilter``
    computes it; with ``fused``, for 3-D ``x`` along axis 1,
    :func:`~lava_eprop.reference.compiled.leaky_filter_into` computes the same
    bits faster (lfilter walks a strided axis lane by lane), and with
    ``overwrite`` writes them into ``x``.
    """
    if fused and x.ndim == 3 and axis == 1:
        out = x if overwrite else np.empty(x.shape, x.dtype)
        cast = x.dtype.type
        compiled.leaky_filter_into(x, cast(decay), cast(scale), reverse, out)
        return out
    from scipy.signal import lfilter  # here: importing it costs ~50 MB of memory

    if reverse:
        x = np.flip(x, axis=axis)
    b = np.array([scale], dtype=x.dtype)
    a = np.array([1.0, -decay], dtype=x.dtype)
    out = lfilter(b, a, x, axis=axis).astype(x.dtype, copy=False)
    return np.flip(out, axis=axis) if reverse else out


def single_thread_blas():
    """Context in which BLAS uses one thread. OpenBLAS splits a product's sums
    differently for each thread count, so its last bits, and over a long run the
    whole trajectory, would depend on the machine's cores (and ``train --seeds``,
    whose workers get one thread each, would differ from ``--seed``); and the
    per-step products of a time loop are too small to gain from threads, which
    spin on a loaded machine and slow them down several-fold."""
    return threadpool_limits(limits=1, user_api="blas")


def with_single_thread_blas(function):
    """``function``, run with one BLAS thread (:func:`single_thread_blas`)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with single_thread_blas():
            return function(*args, **kwargs)
    return wrapper


def shift_in_time(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``out[:, t] = x[:, t-1]``, zero at ``t = 0`` (into ``out`` if given)."""
    out = np.zeros_like(x) if out is None else out
    out[:, 0] = 0
    out[:, 1:] = x[:, :-1]
    return out


class Record(NamedTuple):
    """Everything one forward pass produces; arrays [B, T, ...] (``v`` and ``a`` None
    when they were not kept, see :func:`record_buffers`)."""

    z: np.ndarray
    v: np.ndarray
    a: np.ndarray
    psi: np.ndarray
    y: np.ndarray


def readout(z: np.ndarray, w: Weights, p: NetParams) -> np.ndarray:
    """Leaky readout ``y`` [B, T, n_out] of spikes ``z`` [B, T, n_rec]."""
    drive = z @ w.w_out.T + w.b_out
    return leaky_filter(drive, p.kappa, p.s_out)


def record_buffers(batch: int, steps: int, n_rec: int, dtype=np.float64,
                   state: bool = True) -> dict:
    """Arrays :func:`simulate` can write a run of ``batch`` trials into: the input
    drive and the ``z, v, a, psi`` of its :class:`Record`, each [batch, steps, n_rec];
    without ``state`` no ``v`` and ``a`` (e-prop's gradient and the loss need only
    ``z`` and ``psi``), which the record then leaves None."""
    names = ("drive_in", "z", "v", "a", "psi") if state else ("drive_in", "z", "psi")
    return {k: np.empty((batch, steps, n_rec), dtype=dtype) for k in names}


def simulate(w: Weights, p: NetParams, x: np.ndarray, fused: bool = True,
             buffers: dict | None = None) -> Record:
    """Run the network on inputs ``x`` [B, T, n_in] with fixed weights.

    With ``fused`` each step's neuron update is
    :func:`~lava_eprop.reference.compiled.rec_step_into` (compiled, the
    same bits) instead of :func:`~lava_eprop.reference.neurons.rec_step`.
    ``buffers`` (:func:`record_buffers` of the same sizes) receive the run
    instead of new arrays, and the returned record's arrays are theirs: reused
    across calls, they spare the page faults of touching fresh memory, which
    cost as much as the arithmetic for large batches.
    """
    batch, steps, _ = x.shape
    n_rec = w.w_rec.shape[0]
    out = buffers if buffers is not None else record_buffers(batch, steps, n_rec, x.dtype)
    keep_state = "v" in out
    drive_in = np.matmul(x, w.w_in.T, out=out["drive_in"])
    drive_in *= p.s_in
    w_rec_t = p.s_in * w.w_rec.T
    state = initial_state((batch, n_rec), dtype=x.dtype)
    constants = compiled.step_constants(p, x.dtype)
    with single_thread_blas():
        for t in range(steps):
            i_syn = state.z @ w_rec_t
            i_syn += drive_in[:, t]
            if fused:  # without keep_state, z stands in for the v and a not written
                compiled.rec_step_into(*state, i_syn, p.beta, *constants, out["z"],
                                       out.get("v", out["z"]), out.get("a", out["z"]),
                                       out["psi"], t, keep_state)
                continue
            state, psi = rec_step(state, i_syn, p)
            out["z"][:, t], out["psi"][:, t] = state.z, psi
            if keep_state:
                out["v"][:, t], out["a"][:, t] = state.v, state.a
    return Record(y=readout(out["z"], w, p), z=out["z"], v=out.get("v"), a=out.get("a"),
                  psi=out["psi"])


def mean_rate_hz(z: np.ndarray, dt: float) -> float:
    """Mean firing rate of spike trains ``z`` (0/1, any shape), in Hz at step ``dt`` ms."""
    return float(np.mean(z) * 1000.0 / dt)


def softmax(y: np.ndarray) -> np.ndarray:
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class LossTerms(NamedTuple):
    """Task loss, regularisation loss and their derivatives."""

    task: float
    reg: float
    delta: np.ndarray       # dE_task / dy  [B, T, n_out]
    reg_signal: np.ndarray  # dE_reg / dz[b, t, j], the same at every t  [B, n_rec]

    @property
    def total(self) -> float:
        return self.task + self.reg


#: What the regulariser's rate is taken over (:func:`rate_regulariser`).
RATE_OVER = ("batch", "sequence")


def error_steps_per_sequence(mask: np.ndarray) -> float:
    """``n_err``: masked (error) steps per sequence of ``mask`` [B, T], averaged over the
    batch (at least 1)."""
    return max(float(np.sum(mask)) / mask.shape[0], 1.0)


def rate_regulariser(z: np.ndarray, mask: np.ndarray, coeff: float, rate_hz: float, dt: float,
                     rate_over: str = "batch", per_error_step: bool = False
                     ) -> tuple[float, np.ndarray]:
    """Firing-rate regularisation loss of spikes ``z`` [B, T, n] (module docstring) and its
    signal ``dE_reg / dz[b, t, j]`` [B, n]: ``c_reg (f_j - f0) / (B T dt)`` (batch rate)
    or ``c_reg (f_bj - f0) / (B T dt)`` (sequence rate), divided by ``n_err`` when
    ``per_error_step``."""
    if rate_over not in RATE_OVER:
        raise ValueError(f"rate_over {rate_over!r} (allowed: {', '.join(RATE_OVER)})")
    batch, steps = z.shape[:2]
    f0 = rate_hz / 1000.0
    denominator = batch * steps * dt
    if rate_over == "batch":
        rate = z.mean(axis=(0, 1)) / dt
        reg = 0.5 * coeff * float(np.sum((rate - f0) ** 2))
        signal = np.tile(coeff * (rate - f0) / denominator, (batch, 1))
    else:
        rate = z.mean(axis=1) / dt
        reg = 0.5 * coeff * float(np.sum((rate - f0) ** 2)) / batch
        signal = coeff * (rate - f0) / denominator
    if per_error_step:
        n_err = error_steps_per_sequence(mask)
        reg, signal = reg / n_err, signal / n_err
    return reg, signal


def task_loss(y: np.ndarray, targets: np.ndarray, mask: np.ndarray, kind: str
              ) -> tuple[float, np.ndarray]:
    """The task loss of readouts ``y`` [B, T, n_out] (module docstring) and its
    derivative ``dE_task / dy``."""
    batch = y.shape[0]
    m = mask[..., None].astype(y.dtype)
    if kind == "regression":
        err = (y - targets) * m
        task = 0.5 * float(np.sum(err * err)) / batch
        delta = err / batch
    else:
        n_masked = max(float(mask.sum()), 1.0)
        pi = softmax(y)
        onehot = np.eye(y.shape[-1], dtype=y.dtype)[targets]
        logp = np.log(np.maximum(np.sum(pi * onehot, axis=-1), np.finfo(y.dtype).tiny))
        task = -float(np.sum(logp * mask)) / n_masked
        delta = (pi - onehot) * m / n_masked
    return task, delta


def loss_terms(rec: Record, targets: np.ndarray, mask: np.ndarray, kind: str,
               reg_coeff: float, reg_rate_hz: float, dt: float, *,
               reg_rate_over: str = "batch", reg_per_error_step: bool = False) -> LossTerms:
    """Losses of one forward pass and the error signals e-prop feeds back; the
    regulariser's conventions as :func:`rate_regulariser` takes them."""
    y = rec.y
    task, delta = task_loss(y, targets, mask, kind)
    reg, reg_signal = rate_regulariser(rec.z, mask, reg_coeff, reg_rate_hz, dt,
                                       reg_rate_over, reg_per_error_step)
    return LossTerms(task, reg, delta.astype(y.dtype), reg_signal.astype(y.dtype))


def predictions(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Class decision per trial: argmax of the readout averaged over masked steps."""
    m = mask[..., None].astype(y.dtype)
    mean = (y * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
    return mean.argmax(axis=-1)


def trial_labels(targets: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The label of each trial: the target at its last masked step."""
    last = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
    return targets[np.arange(targets.shape[0]), last]
