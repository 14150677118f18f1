"""Float parameters and weights of the e-prop network, derived from a config.

Weights are stored post x pre, as Lava's ``Dense`` stores them and as the
e-prop equations index them (``W_ji``: from neuron ``i`` to neuron ``j``):
``w_in [n_rec, n_in]``, ``w_rec [n_rec, n_rec]``, ``w_out [n_out, n_rec]``,
``b_out [n_out]`` and the feedback ``fb [n_rec, n_out]`` (``B_jk``).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from lava_eprop.config import Config


@dataclass(frozen=True)
class NetParams:
    """Constants of the network dynamics (Bellec et al. 2020, Methods).

    alpha, rho, kappa : membrane, adaptation and readout decays per step
    v_th : threshold; beta : per-neuron adaptation strength (0 for LIF)
    gamma : pseudo-derivative dampening; n_ref : refractory steps
    s_in : input scale ((1 - alpha) or 1); s_out : readout scale ((1 - kappa) or 1)
    dt : step in ms; autapses : whether w_rec may have a non-zero diagonal
    """

    alpha: float
    rho: float
    kappa: float
    v_th: float
    beta: np.ndarray
    gamma: float
    n_ref: int
    s_in: float
    s_out: float
    dt: float
    autapses: bool

    @property
    def adaptive(self) -> bool:
        return bool(np.any(self.beta != 0))


def net_params(cfg: Config, dtype=np.float64) -> NetParams:
    """Derive the decays and scales of the network from ``cfg.network``."""
    n = cfg.network
    alpha = float(np.exp(-n.dt / n.tau_m))
    rho = float(np.exp(-n.dt / n.tau_a))
    kappa = float(np.exp(-n.dt / n.tau_out))
    beta = np.zeros(n.n_rec, dtype=dtype)
    if n.neuron == "alif":
        n_adaptive = n.n_rec if n.n_adaptive is None else n.n_adaptive
        value = n.beta if n.beta is not None else 1.7 * (1 - rho) / (1 - alpha)
        beta[n.n_rec - n_adaptive:] = value
    return NetParams(alpha=alpha, rho=rho, kappa=kappa, v_th=float(n.v_th), beta=beta,
                     gamma=float(n.dampening), n_ref=int(n.refractory_steps),
                     s_in=(1 - alpha) if n.input_scaling else 1.0,
                     s_out=(1 - kappa) if n.readout_scaling else 1.0,
                     dt=float(n.dt), autapses=bool(n.self_connections))


@dataclass
class Weights:
    """Trainable weights (and the feedback matrix) of one network."""

    w_in: np.ndarray
    w_rec: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray
    fb: np.ndarray

    def copy(self) -> Weights:
        return Weights(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def astype(self, dtype) -> Weights:
        return replace(self, **{f.name: getattr(self, f.name).astype(dtype) for f in fields(self)})


def init_weights(cfg: Config, n_in: int, n_out: int, rng: np.random.Generator,
                 dtype=np.float64) -> Weights:
    """Gaussian initial weights scaled by fan-in (the reference code's choice).

    The feedback ``fb`` is random (``feedback_scale / sqrt(n_rec)``) for random
    and adaptive feedback; for symmetric feedback it is ``w_out.T`` and is
    kept equal to it by the learning rules.
    """
    n, t = cfg.network, cfg.training
    w_in = rng.standard_normal((n.n_rec, n_in)) * n.w_in_scale / np.sqrt(n_in)
    w_rec = rng.standard_normal((n.n_rec, n.n_rec)) * n.w_rec_scale / np.sqrt(n.n_rec)
    if not n.self_connections:
        np.fill_diagonal(w_rec, 0.0)
    w_out = rng.standard_normal((n_out, n.n_rec)) * n.w_out_scale / np.sqrt(n.n_rec)
    fb_random = rng.standard_normal((n.n_rec, n_out)) * t.feedback_scale / np.sqrt(n.n_rec)
    fb = w_out.T.copy() if t.feedback == "symmetric" else fb_random
    return Weights(w_in=w_in, w_rec=w_rec, w_out=w_out, b_out=np.zeros(n_out), fb=fb).astype(dtype)
