"""BPTT of the same network with PyTorch autograd (the ``dl`` extra).

The forward pass is the one of :mod:`lava_eprop.reference.neurons` and
:mod:`lava_eprop.reference.network`, written in torch; spikes use the e-prop
pseudo-derivative as surrogate gradient
(``dz/dv = gamma / v_th * max(0, 1 - |v - A| / v_th)``). Options cut paths
out of the graph (``detach``, i.e. stop-gradient):

* ``detach_recurrent``: ``z[t-1]`` where it feeds back into the layer, through
  ``W_rec`` and through the reset. The adaptation ``a`` keeps its gradient
  (it is local to the neuron, as in the reference code's ``z_local``). With
  this, autograd computes exactly e-prop's gradient.
* ``detach_reset``: only the reset. This is the BPTT training default (the
  reset carries no gradient, as in e-prop and as is common practice with
  surrogate gradients); ``training.bptt_reset_gradient: true`` turns it off.
* ``feedback``: a matrix ``B`` [n_rec, n_out] that replaces ``W_out^T`` on the
  backward path from the readout to the spikes (random e-prop, as the
  reference code's ``matmul_random_feedback``).
"""
from __future__ import annotations

import numpy as np

from lava_eprop.errors import UserError
from lava_eprop.reference.eprop import Grads
from lava_eprop.reference.params import NetParams, Weights


def _torch():
    try:
        import torch
    except ImportError:
        raise UserError("training.method 'bptt' needs PyTorch, from the dl extra: in the "
                        "repository clone run pip install -e '.[dl]' (./scripts/test installs "
                        "it too), or use method: eprop") from None
    return torch


def _spike_function(torch):
    class SpikeFunction(torch.autograd.Function):
        """Heaviside forward; e-prop pseudo-derivative backward."""

        @staticmethod
        def forward(ctx, v_scaled, gamma):
            ctx.save_for_backward(v_scaled)
            ctx.gamma = gamma
            return (v_scaled > 0).to(v_scaled.dtype)

        @staticmethod
        def backward(ctx, grad):
            (v_scaled,) = ctx.saved_tensors
            return grad * ctx.gamma * torch.clamp(1 - v_scaled.abs(), min=0), None

    return SpikeFunction


def _readout_function(torch):
    class ReadoutWithFeedback(torch.autograd.Function):
        """``z @ W_out^T`` whose gradient to ``z`` goes through ``B`` instead."""

        @staticmethod
        def forward(ctx, z, w_out, fb):
            ctx.save_for_backward(z, fb)
            return z @ w_out.T

        @staticmethod
        def backward(ctx, grad):
            z, fb = ctx.saved_tensors
            g_w = grad.reshape(-1, grad.shape[-1]).T @ z.reshape(-1, z.shape[-1])
            return grad @ fb.T, g_w, None

    return ReadoutWithFeedback


def torch_loss(w: dict, p: NetParams, x, targets, mask, kind: str, reg_coeff: float,
               reg_rate_hz: float, *, detach_recurrent: bool = False, detach_reset: bool = True,
               feedback=None, reg_rate_over: str = "batch", reg_per_error_step: bool = False):
    """Total loss (task + regularisation) and task loss as torch scalars, the spikes
    and the readout.

    ``w`` maps ``w_in, w_rec, w_out, b_out`` to torch tensors; ``x``,
    ``targets``, ``mask`` are torch tensors of the shapes used by
    :func:`lava_eprop.reference.network.loss_terms`, and the regulariser's
    conventions are its (module docstring of :mod:`lava_eprop.reference.network`).
    """
    torch = _torch()
    spike = _spike_function(torch).apply
    batch, steps, _ = x.shape
    n_rec = w["w_rec"].shape[0]
    beta = torch.as_tensor(p.beta, dtype=x.dtype)
    drive_in = p.s_in * (x @ w["w_in"].T)
    v = torch.zeros(batch, n_rec, dtype=x.dtype)
    a, z = torch.zeros_like(v), torch.zeros_like(v)
    r = torch.zeros_like(v)
    spikes = []
    for t in range(steps):
        z_fb = z.detach() if detach_recurrent else z
        z_reset = z.detach() if (detach_reset or detach_recurrent) else z
        a = p.rho * a + z
        v = p.alpha * v + drive_in[:, t] + p.s_in * (z_fb @ w["w_rec"].T) - p.v_th * z_reset
        distance = v - (p.v_th + beta * a)
        active = (r <= 0).to(x.dtype)
        z = spike(distance / p.v_th, p.gamma) * active
        r = torch.clamp(r + p.n_ref * z.detach() - 1, 0, p.n_ref)
        spikes.append(z)
    z_all = torch.stack(spikes, dim=1)
    if feedback is None:
        drive_out = z_all @ w["w_out"].T
    else:
        drive_out = _readout_function(torch).apply(z_all, w["w_out"], feedback)
    drive_out = drive_out + w["b_out"]
    outs, y = [], torch.zeros(batch, drive_out.shape[-1], dtype=x.dtype)
    for t in range(steps):
        y = p.kappa * y + p.s_out * drive_out[:, t]
        outs.append(y)
    y_all = torch.stack(outs, dim=1)
    m = mask.to(x.dtype)
    if kind == "regression":
        task = 0.5 * torch.sum(((y_all - targets) * m[..., None]) ** 2) / batch
    else:
        logp = torch.log_softmax(y_all, dim=-1)
        picked = torch.gather(logp, -1, targets[..., None])[..., 0]
        task = -torch.sum(picked * m) / torch.clamp(m.sum(), min=1.0)
    if reg_rate_over == "batch":
        rate = z_all.mean(dim=(0, 1)) / p.dt
        reg = 0.5 * reg_coeff * torch.sum((rate - reg_rate_hz / 1000.0) ** 2)
    else:
        rate = z_all.mean(dim=1) / p.dt
        reg = 0.5 * reg_coeff * torch.sum((rate - reg_rate_hz / 1000.0) ** 2) / batch
    if reg_per_error_step:
        reg = reg / torch.clamp(m.sum() / batch, min=1.0)
    return task + reg, task, z_all, y_all


def autograd_gradients(w: Weights, p: NetParams, x: np.ndarray, targets: np.ndarray,
                       mask: np.ndarray, kind: str, reg_coeff: float, reg_rate_hz: float,
                       *, detach_recurrent: bool = False, detach_reset: bool = True,
                       random_feedback: bool = False, reg_rate_over: str = "batch",
                       reg_per_error_step: bool = False) -> tuple[Grads, float]:
    """Autograd gradient of the total loss (regulariser conventions as
    :func:`torch_loss` takes them) and the task loss's value."""
    torch = _torch()
    dtype = torch.float64 if x.dtype == np.float64 else torch.float32
    tw = {k: torch.tensor(getattr(w, k), dtype=dtype, requires_grad=True)
          for k in ("w_in", "w_rec", "w_out", "b_out")}
    fb = torch.tensor(w.fb, dtype=dtype) if random_feedback else None
    tx = torch.tensor(x, dtype=dtype)
    tt = torch.tensor(targets, dtype=dtype if kind == "regression" else torch.int64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # per-step ops are small: threads only add overhead (10x here)
    try:
        loss, task, _, _ = torch_loss(tw, p, tx, tt, torch.tensor(mask), kind, reg_coeff,
                                      reg_rate_hz, detach_recurrent=detach_recurrent,
                                      detach_reset=detach_reset, feedback=fb,
                                      reg_rate_over=reg_rate_over,
                                      reg_per_error_step=reg_per_error_step)
        loss.backward()
    finally:
        torch.set_num_threads(threads)
    g = {k: tw[k].grad.numpy().astype(x.dtype) for k in tw}
    if not p.autapses:
        np.fill_diagonal(g["w_rec"], 0.0)
    return Grads(**g), float(task.detach())
