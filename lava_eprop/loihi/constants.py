"""Widths of Loihi 2's learning engine, as Lava 0.10.0 defines them.

``lava/magma/core/learning/constants.py`` (widths, ``GradedSpikeCfg``) and
``lava/utils/weightutils.py`` (``SignMode``, ``clip_weights``), copied with
the same names and values.
"""
from __future__ import annotations

from enum import Enum, IntEnum, unique

import numpy as np

from lava_eprop.loihi import symbols as sym

#: Width of the epoch time.
W_EPOCH_TIME = 6

#: Unsigned and signed widths of weights, tag 2 (d) and tag 1 (t).
W_WEIGHTS_U = 8
W_WEIGHTS_S = W_WEIGHTS_U + 1
W_TAG_2_U = 8
W_TAG_2_S = W_TAG_2_U + 1
W_TAG_1_U = 8
W_TAG_1_S = W_TAG_1_U + 1

W_SYN_VAR_U = {"weights": W_WEIGHTS_U, "tag_2": W_TAG_2_U, "tag_1": W_TAG_1_U}
W_SYN_VAR_S = {"weights": W_WEIGHTS_S, "tag_2": W_TAG_2_S, "tag_1": W_TAG_1_S}

#: Width of the traces x1, x2, y1, y2, y3, and of an impulse's fraction.
W_TRACE = 7
W_TRACE_FRACTIONAL_PART = 8

#: Width of additive constants.
W_CONST = 8

#: Bits of the scaling factor's mantissa.
W_S_MANT = 4

#: Unsigned and signed widths of the accumulator of synaptic changes.
W_ACCUMULATOR_U = 15
W_ACCUMULATOR_S = W_ACCUMULATOR_U + 1

FACTOR_TO_WIDTH_DICT = {
    sym.X0: 1, sym.X1: W_TRACE, sym.X2: W_TRACE,
    sym.Y0: 1, sym.Y1: W_TRACE, sym.Y2: W_TRACE, sym.Y3: W_TRACE,
    sym.W: W_WEIGHTS_S, sym.D: W_TAG_2_S, sym.T: W_TAG_1_S, sym.C: W_CONST,
}

DEP_TO_IDX_DICT = {sym.X0: 0, sym.Y0: 1, sym.U: 2}

TRACE_TO_IDX_DICT = {sym.X1: 0, sym.X2: 1, sym.Y1: 0, sym.Y2: 1, sym.Y3: 2}


class GradedSpikeCfg(IntEnum):
    """How a graded spike's payload acts on a trace (hardware values)."""

    USE_REGULAR_IMPULSE = 0
    OVERWRITE = 1
    ADD_WITH_SATURATION = 2
    ADD_WITHOUT_SATURATION = 3


@unique
class SignMode(Enum):
    """Sign mode of a connection's weights."""

    NULL = 0
    MIXED = 1
    EXCITATORY = 2
    INHIBITORY = 3


def as_sign_mode(mode) -> SignMode:
    """:class:`SignMode` of ``mode``, which may be Lava's ``SignMode`` (same names)."""
    if isinstance(mode, SignMode):
        return mode
    if isinstance(mode, Enum) and mode.name in SignMode.__members__:
        return SignMode[mode.name]
    raise ValueError(f"not a sign mode: {mode!r}")


def clip_weights(weights: np.ndarray, sign_mode: SignMode, num_bits: int) -> np.ndarray:
    """``clip_weights(weights, sign_mode, num_bits)`` of ``lava.utils.weightutils``
    for a dense array (``learning_simulation=False``): int32 weights clipped to
    ``[-2^b, 2^b - 1]`` (mixed), ``[0, 2^b - 1]`` (excitatory) or
    ``[-(2^b - 1), 0]`` (inhibitory)."""
    flip = -1 if sign_mode == SignMode.INHIBITORY else 1
    low = -2 ** num_bits if sign_mode == SignMode.MIXED else 0
    return flip * np.clip(flip * np.asarray(weights).astype(np.int32), low, 2 ** num_bits - 1)
