"""Pure step function of the recurrent LIF / ALIF neuron (float).

Bellec et al. 2020 (Nat. Commun. 11:3625), Methods, with the conventions of
the authors' reference code (``IGITUGraz/eligibility_propagation``). One call
advances the state ``(v, a, z, r)`` from step ``t-1`` to step ``t``::

    a[t]   = rho * a[t-1] + z[t-1]                      (ALIF adaptation)
    v[t]   = alpha * v[t-1] + i_syn[t] - v_th * z[t-1]  (reset by subtraction,
                                                          previous step's spike)
    A[t]   = v_th + beta * a[t]                          (adaptive threshold)
    ref[t] = r[t-1] > 0                                  (refractory)
    z[t]   = H(v[t] - A[t])  (strict >), 0 while refractory
    psi[t] = gamma / v_th * max(0, 1 - |v[t] - A[t]| / v_th), 0 while refractory
    r[t]   = clip(r[t-1] + n_ref * z[t] - 1, 0, n_ref)

``i_syn[t] = s_in * (W_in x[t] + W_rec z[t-1])``: spikes reach the recurrent
layer one step after they are emitted. With ``beta = 0`` the neuron is LIF.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lava_eprop.reference.params import NetParams


class RecState(NamedTuple):
    """State of the recurrent layer after a step; arrays of shape [..., n_rec]."""

    v: np.ndarray
    a: np.ndarray
    z: np.ndarray
    r: np.ndarray


def initial_state(shape: tuple, dtype=np.float64) -> RecState:
    """All-zero state (no spike, no adaptation, not refractory)."""
    zeros = np.zeros(shape, dtype=dtype)
    return RecState(zeros, zeros.copy(), zeros.copy(), np.zeros(shape, dtype=np.int32))


def rec_step(state: RecState, i_syn: np.ndarray, p: NetParams) -> tuple[RecState, np.ndarray]:
    """Advance one step; return the new state and the pseudo-derivative psi[t]."""
    a = p.rho * state.a + state.z
    v = p.alpha * state.v + i_syn - p.v_th * state.z
    distance = v - (p.v_th + p.beta * a)
    active = state.r <= 0
    z = ((distance > 0) & active).astype(v.dtype)
    psi = (p.gamma / p.v_th) * np.maximum(0.0, 1.0 - np.abs(distance) / p.v_th) * active
    r = np.clip(state.r + p.n_ref * z.astype(np.int32) - 1, 0, p.n_ref)
    return RecState(v, a, z, r), psi
