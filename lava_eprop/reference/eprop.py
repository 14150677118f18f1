"""e-prop weight gradients (Bellec et al. 2020, Eqs. 1-3 and Methods).

Eligibility (post ``j``, pre ``i``), with ``xbar_i`` the presynaptic trace
(``xbar[t] = alpha * xbar[t-1] + s_in * x[t]`` for inputs; the recurrent
layer sees ``z[t-1]``)::

    LIF:   e_ji[t] = psi_j[t] * xbar_i[t]
    ALIF:  eps_ji[t+1] = psi_j[t] * xbar_i[t] + (rho - psi_j[t] beta_j) * eps_ji[t]
           e_ji[t]     = psi_j[t] * (xbar_i[t] - beta_j * eps_ji[t])

Learning signal ``L_j[t] = sum_k B_jk delta_k[t]`` with ``delta = dE/dy``; the
eligibility is filtered like the readout,
``ebar[t] = kappa * ebar[t-1] + s_out * e[t]``; the gradient is::

    dE/dW_ji = sum_{b,t} L_bj[t] ebar_bji[t] + sum_b R_bj sum_t e_bji[t]

where ``R_bj = dE_reg / dz_bj[t]`` is the regularisation term
(:func:`~lava_eprop.reference.network.rate_regulariser`): ``c_reg (f_j - f0) /
(B T dt)`` with the batch's rate (the reference code's "simple" regulariser,
the default), ``c_reg (f_bj - f0) / (B T dt)`` with each sequence's own rate,
either divided by ``n_err`` when averaged over the error steps. Readout: ``dE/dW_out_kj =
sum_{b,t} delta_k[t] zbar_j[t]`` with ``zbar`` the readout-filtered spikes.

Two implementations of the same sums are provided:

* :func:`batch_gradients` sums over the whole sequence after it ends. It
  reorders the double sum over time (``sum_t L[t] sum_{t'<=t} ...``) so that
  each projection costs one matrix product; for ALIF the ``eps`` recursion is
  summed with its adjoint. Used for ``update: batch``.
* :class:`OnlineEprop` carries the eligibility traces forward, step by step,
  exactly as written above (what a chip does), and yields the update of every
  step. Used for ``update: online``. A test shows the per-step updates of
  :class:`OnlineEprop` sum to :func:`batch_gradients`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lava_eprop.reference import compiled
from lava_eprop.reference.network import LossTerms, Record, leaky_filter, shift_in_time
from lava_eprop.reference.params import NetParams, Weights


class Grads(NamedTuple):
    """Gradients of the loss for every trainable array (same shapes)."""

    w_in: np.ndarray
    w_rec: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray


def learning_signal(delta: np.ndarray, fb: np.ndarray, out: np.ndarray | None = None
                    ) -> np.ndarray:
    """``L_j[t] = sum_k B_jk delta_k[t]``; ``delta`` [..., n_out], ``fb`` [n_rec, n_out];
    into ``out`` if given."""
    return np.matmul(delta, fb.T, out=out)


def _post_factor(rec: Record, signal: np.ndarray, reg_signal: np.ndarray,
                 p: NetParams, fused: bool = True) -> np.ndarray:
    """``h_j[t]`` such that ``dE/dW_ji = sum_{b,t} h_j[t] xbar_i[t]``.

    ``c[t] = sum_{t'>=t} kappa^(t'-t) s_out L[t'] + R`` weighs ``e[t]``; for
    ALIF the adjoint ``lam[t] = d[t+1] + q[t+1] lam[t+1]`` (``d = beta c psi``,
    ``q = rho - psi beta``) carries the ``-beta eps`` term back onto
    ``psi[t] xbar[t]``. With ``fused`` the same operations run compiled
    (:func:`~lava_eprop.reference.compiled.post_factor_into`), written over
    ``signal``.
    """
    if fused:
        cast = signal.dtype.type
        compiled.post_factor_into(signal, reg_signal, rec.psi, p.beta, cast(p.kappa),
                                  cast(p.s_out), cast(p.rho), p.adaptive, signal)
        return signal
    c = leaky_filter(signal, p.kappa, p.s_out, reverse=True) + reg_signal[:, None, :]
    if not p.adaptive:
        return rec.psi * c
    d = p.beta * c * rec.psi
    q = p.rho - rec.psi * p.beta
    lam = np.zeros_like(c)
    for t in range(c.shape[1] - 2, -1, -1):
        lam[:, t] = d[:, t + 1] + q[:, t + 1] * lam[:, t + 1]
    return rec.psi * (c - lam)


def _outer_sum(post: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """``sum_{b,t} post[b,t,j] pre[b,t,i]`` as a [n_post, n_pre] matrix."""
    return post.reshape(-1, post.shape[-1]).T @ pre.reshape(-1, pre.shape[-1])


def batch_gradients(w: Weights, p: NetParams, x: np.ndarray, rec: Record,
                    loss: LossTerms, fused: bool = True,
                    scratch: np.ndarray | None = None) -> Grads:
    """e-prop gradient summed over all steps and trials of a batch.

    With ``fused`` the time recursions run compiled (the same bits, see
    :mod:`lava_eprop.reference.compiled`). Besides ``h``, one filtered trace
    [B, T, n] is alive at a time. Given ``scratch``, an array like ``rec.z``
    whose values are no longer needed (the simulation's input drive), no new
    [B, T, n_rec] array is made: the learning signal, ``h`` and then the
    readout's filtered spikes go into ``scratch``, and the recurrent inputs'
    filtered spikes into ``rec.psi``, which this call overwrites once ``h`` is
    computed.
    """
    signal = learning_signal(loss.delta, w.fb, out=scratch)
    h = _post_factor(rec, signal, loss.reg_signal, p, fused)
    g_in = _outer_sum(h, leaky_filter(x, p.alpha, p.s_in, fused=fused))
    zbar_rec = shift_in_time(rec.z, out=None if scratch is None else rec.psi)
    g_rec = _outer_sum(h, leaky_filter(zbar_rec, p.alpha, p.s_in, overwrite=True, fused=fused))
    if not p.autapses:
        np.fill_diagonal(g_rec, 0.0)
    del h, signal, zbar_rec
    if scratch is None:
        zbar_out = leaky_filter(rec.z, p.kappa, p.s_out, fused=fused)
    else:
        np.copyto(scratch, rec.z)
        zbar_out = leaky_filter(scratch, p.kappa, p.s_out, overwrite=True, fused=fused)
    bias_trace = leaky_filter(np.ones_like(loss.delta[:1, :, :1]), p.kappa, p.s_out, fused=fused)
    return Grads(w_in=g_in, w_rec=g_rec, w_out=_outer_sum(loss.delta, zbar_out),
                 b_out=np.sum(loss.delta * bias_trace, axis=(0, 1)))


class _Traces:
    """Forward eligibility state of one projection (pre traces, eps, ebar)."""

    def __init__(self, batch: int, n_post: int, n_pre: int, adaptive: bool, dtype):
        self.xbar = np.zeros((batch, n_pre), dtype=dtype)
        self.eps = np.zeros((batch, n_post, n_pre), dtype=dtype) if adaptive else None
        self.ebar = np.zeros((batch, n_post, n_pre), dtype=dtype)

    def advance(self, pre: np.ndarray, psi: np.ndarray, psi_prev: np.ndarray,
                p: NetParams) -> np.ndarray:
        """Step the traces to ``t`` given ``pre[t]``; return ``e[t]``."""
        if self.eps is not None:
            # eps[t] = psi[t-1] xbar[t-1] + (rho - psi[t-1] beta) eps[t-1]
            self.eps = (psi_prev[:, :, None] * self.xbar[:, None, :]
                        + (p.rho - psi_prev * p.beta)[:, :, None] * self.eps)
        self.xbar = p.alpha * self.xbar + p.s_in * pre
        inner = self.xbar[:, None, :]
        if self.eps is not None:
            inner = inner - p.beta[None, :, None] * self.eps
        e = psi[:, :, None] * inner
        self.ebar = p.kappa * self.ebar + p.s_out * e
        return e


class OnlineEprop:
    """Forward-in-time e-prop: traces carried step by step, one update per step.

    Call :meth:`step` once per time step after the network step; it returns
    that step's gradient contribution. The regularisation uses the running
    average rate so far (``f_j`` up to step ``t``; over the batch's trials, or
    each trial's own with ``per_sequence``), since the sequence's mean is not
    known online; ``n_err`` divides it (1: not averaged over error steps).
    """

    def __init__(self, p: NetParams, batch: int, n_in: int, n_rec: int, n_steps: int,
                 reg_coeff: float, reg_rate_hz: float, dtype=np.float64, *,
                 per_sequence: bool = False, n_err: float = 1.0):
        self.p = p
        adaptive = p.adaptive
        self.inp = _Traces(batch, n_rec, n_in, adaptive, dtype)
        self.rec = _Traces(batch, n_rec, n_rec, adaptive, dtype)
        self.zbar_out = np.zeros((batch, n_rec), dtype=dtype)
        self.bias_trace = 0.0
        self.psi_prev = np.zeros((batch, n_rec), dtype=dtype)
        self.z_prev = np.zeros((batch, n_rec), dtype=dtype)
        self.per_sequence = per_sequence
        self.spike_count = np.zeros((batch, n_rec) if per_sequence else n_rec, dtype=dtype)
        self.steps_seen = 0
        self.norm = batch * n_steps * p.dt * n_err
        self.reg_coeff, self.f0 = reg_coeff, reg_rate_hz / 1000.0

    def step(self, x_t: np.ndarray, z_t: np.ndarray, psi_t: np.ndarray, delta_t: np.ndarray,
             fb: np.ndarray) -> Grads:
        """Gradient contribution of step ``t`` (inputs [B, n_in], spikes, psi [B, n_rec],
        readout error ``delta_t`` [B, n_out], feedback ``fb`` [n_rec, n_out])."""
        p = self.p
        e_in = self.inp.advance(x_t, psi_t, self.psi_prev, p)
        e_rec = self.rec.advance(self.z_prev, psi_t, self.psi_prev, p)
        self.psi_prev, self.z_prev = psi_t, z_t
        self.zbar_out = p.kappa * self.zbar_out + p.s_out * z_t
        self.bias_trace = p.kappa * self.bias_trace + p.s_out
        self.steps_seen += 1
        sig = learning_signal(delta_t, fb)
        g_in = np.einsum("bj,bji->ji", sig, self.inp.ebar)
        g_rec = np.einsum("bj,bji->ji", sig, self.rec.ebar)
        if self.per_sequence:
            self.spike_count += z_t
            rate = self.spike_count / (self.steps_seen * p.dt)
            reg = self.reg_coeff * (rate - self.f0) / self.norm
            g_in += np.einsum("bj,bji->ji", reg, e_in)
            g_rec += np.einsum("bj,bji->ji", reg, e_rec)
        else:
            self.spike_count += z_t.sum(axis=0)
            rate = self.spike_count / (z_t.shape[0] * self.steps_seen * p.dt)
            reg = self.reg_coeff * (rate - self.f0) / self.norm
            g_in += reg[:, None] * e_in.sum(0)
            g_rec += reg[:, None] * e_rec.sum(0)
        if not p.autapses:
            np.fill_diagonal(g_rec, 0.0)
        return Grads(w_in=g_in, w_rec=g_rec, w_out=delta_t.T @ self.zbar_out,
                     b_out=delta_t.sum(axis=0) * self.bias_trace)
