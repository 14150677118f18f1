"""Lava's fixed-point ``Dense`` with frozen weights, for many instances at once.

Mirrors ``PyDenseModelBitAcc`` (``lava/proc/dense/models.py``, Lava 0.10.0)
for binary spikes: the weights are clipped to 8 bits + sign and truncated to
``num_weight_bits`` (as on Lava's first step; a no-op for weights already on
that grid), then every step::

    a_out  = int32(a_buff)                    (0 on the first step)
    a_buff = (sum of w[:, q] over spiking pre q) << weight_exp
             (>> -weight_exp, arithmetic, for a negative exponent)

This is also exactly what ``LearningDense`` delivers when its weights do not
change (its spiking phase is ``Dense``'s after the same truncation). All
instances share one weight matrix; nothing learns, so there are no tags and
no traces. :class:`lava_eprop.engine.network.FastNetwork` uses it with
``learn=False``.
"""
from __future__ import annotations

import numpy as np

from lava_eprop.engine.learning_dense import truncate_weights
from lava_eprop.loihi.constants import SignMode, as_sign_mode, clip_weights

#: Exactness bound of the float64 accumulation: |sum| <= n_pre * 2^8 < 2^53.
_MAX_PRE = 2 ** 44


class DenseEngine:
    """``n_instances`` copies of a fixed-point ``Dense`` with shared, frozen weights.

    Parameters
    ----------
    weights : array_like, int, (n_post, n_pre)
    n_instances : int
    weight_exp, num_weight_bits, sign_mode
        As for Lava's ``Dense`` (``sign_mode`` MIXED, as ``LearningDense`` assumes).

    Attributes
    ----------
    weights : ndarray, int32, (n_post, n_pre)
        The weights delivered (clipped and truncated).
    a_buff : ndarray, int64, (n_instances, n_post)
        Activation to be sent on the next step.
    """

    def __init__(self, weights, n_instances: int = 1, weight_exp: int = 0,
                 num_weight_bits: int = 8, sign_mode: SignMode = SignMode.MIXED) -> None:
        weights = np.asarray(weights)
        if weights.ndim != 2:
            raise ValueError(f"weights must be (n_post, n_pre), got shape {weights.shape}")
        if weights.shape[1] >= _MAX_PRE:
            raise ValueError("at most 2^44 presynaptic neurons are supported")
        sign_mode = as_sign_mode(sign_mode)
        clipped = clip_weights(weights.astype(np.int32), sign_mode, num_bits=8)
        self.weights = truncate_weights(clipped, sign_mode, num_weight_bits)
        self.weight_exp = weight_exp
        self.n_instances = n_instances
        self.a_buff = np.zeros((n_instances, weights.shape[0]), np.int64)
        self._w_t = self.weights.T.astype(np.float64)  # exact: integers below 2^9
        self._a_buff_wraps = 0

    @property
    def counters(self) -> dict:
        """``a_buff``: activations outside int32, wrapped when sent."""
        return {"a_buff": self._a_buff_wraps}

    def step(self, s_in, s_in_bap=None, y1=None, y2=None, y3=None) -> np.ndarray:
        """One step: return ``a_out`` (int32) and accumulate the spikes ``s_in``
        (n_instances, n_pre; nonzero = spike). ``Dense`` has no ``s_in_bap`` or
        third-factor ports; those arguments are accepted and ignored so that it
        steps like :class:`~lava_eprop.engine.LearningDenseEngine`."""
        a_out = self.a_buff.astype(np.int32)
        self._a_buff_wraps += int(np.count_nonzero(a_out != self.a_buff))
        spiked = np.asarray(s_in) != 0
        acc = (spiked @ self._w_t).astype(np.int64)  # sums of < 2^44 9-bit integers: exact
        self.a_buff = acc << self.weight_exp if self.weight_exp > 0 else acc >> -self.weight_exp
        return a_out
