"""The error / learning-signal process, holding the feedback matrix B."""
from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_eprop.engine.neurons import ErrorParams


class EpropError(AbstractProcess):
    """Readout error, the readout's third factors, and the learning signal ``B e``.

    The feedback projection B is part of this process (not a separate
    ``Dense``): it multiplies the error payload by the integer ``feedback``
    matrix and sends the result one step later (like a ``Dense``'s buffer).
    Integer semantics: :func:`lava_eprop.engine.neurons.error_step` and
    :func:`~lava_eprop.engine.neurons.learning_signal`.

    Parameters
    ----------
    n_out, n_rec : int
    params : ErrorParams
    feedback : ndarray, int, (n_rec, n_out)
        ``B`` as 8-bit + sign integers.
    name : str, optional

    Ports
    -----
    v_in : readout registers; target_in : targets (integer, see ``error_step``);
    mask_in : ``(1,)``, 1 where the error counts
    l_out : ``(n_rec,)`` learning signal of the previous step
    y3_out : readout projection's ``y3``; bap_out, y1_out, y2_out : zeros
    (the readout does not spike; the readout rule reads only y3)
    """

    def __init__(self, *, n_out: int, n_rec: int, params: ErrorParams, feedback: np.ndarray,
                 name: str | None = None) -> None:
        super().__init__(n_out=n_out, n_rec=n_rec, params=params, name=name)
        out, rec = (n_out,), (n_rec,)
        self.v_in = InPort(shape=out)
        self.target_in = InPort(shape=out)
        self.mask_in = InPort(shape=(1,))
        self.l_out = OutPort(shape=rec)
        self.y3_out = OutPort(shape=out)
        self.bap_out = OutPort(shape=out)
        self.y1_out = OutPort(shape=out)
        self.y2_out = OutPort(shape=out)
        self.feedback = Var(shape=(n_rec, n_out), init=np.asarray(feedback, np.int64))
        self.e = Var(shape=out, init=np.zeros(out, np.int64))
        self.y3 = Var(shape=out, init=np.zeros(out, np.int64))
        self.l_buff = Var(shape=rec, init=np.zeros(rec, np.int64))
