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

The step is written once, as the equations :data:`REC_STEP` over a few
operations; :func:`rec_step` runs them on NumPy arrays
(:data:`NUMPY_OPERATIONS`), and :mod:`lava_eprop.reference.compiled`
generates its numba kernel from the same text, on one value at a time.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lava_eprop.reference.params import NetParams

#: The recurrent step, once. In: the state ``v, a, z, r`` of step ``t-1`` and
#: ``i_syn``; parameters ``beta`` (per neuron), ``alpha``, ``rho``, ``v_th``,
#: ``gain = gamma / v_th``, ``n_ref``; ``zero`` and ``one`` in the state's
#: dtype. Out: the state of step ``t`` and ``psi``. Operations: ``where``,
#: ``maximum`` (NaN passes, as NumPy's), ``absolute``, ``clip`` and ``count``
#: (a spike as int32).
REC_STEP = """
a = rho * a + z
v = alpha * v + i_syn - v_th * z
distance = v - (v_th + beta * a)
active = r <= 0
z = where((distance > zero) & active, one, zero)
psi = gain * maximum(zero, one - absolute(distance) / v_th) * active
r = clip(r + n_ref * count(z) - 1, 0, n_ref)
"""

#: The operations of :data:`REC_STEP` on NumPy arrays.
NUMPY_OPERATIONS = {"where": np.where, "maximum": np.maximum, "absolute": np.abs,
                    "clip": np.clip, "count": lambda z: z.astype(np.int32)}

_REC_CODE = compile(REC_STEP, "<REC_STEP>", "exec")


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
    """Advance one step (:data:`REC_STEP`); return the new state and the pseudo-derivative psi[t]."""
    kind = np.result_type(state.v, i_syn).type
    values = dict(NUMPY_OPERATIONS, **state._asdict(), i_syn=i_syn, beta=p.beta,
                  alpha=p.alpha, rho=p.rho, v_th=p.v_th, gain=p.gamma / p.v_th,
                  n_ref=p.n_ref, zero=kind(0.0), one=kind(1.0))
    exec(_REC_CODE, values)
    return RecState(*(values[name] for name in RecState._fields)), values["psi"]
