"""The leaky readout process (integer membrane, no spikes)."""
from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_eprop.engine.neurons import ReadoutParams


class LeakyReadout(AbstractProcess):
    """Leaky readout ``y = kappa y + W z`` in a 24-bit register (``y * Q * 64``).

    Integer semantics: :func:`lava_eprop.engine.neurons.readout_step`.

    Parameters
    ----------
    shape : tuple of int
        ``(n_out,)``.
    params : ReadoutParams
    name : str, optional

    Ports
    -----
    a_in : input from the readout projection
    v_out : the register ``v`` of this step (to :class:`EpropError`)
    """

    def __init__(self, *, shape: tuple, params: ReadoutParams, name: str | None = None) -> None:
        super().__init__(shape=shape, params=params, name=name)
        self.a_in = InPort(shape=shape)
        self.v_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=np.zeros(shape, np.int64))
        self.v = Var(shape=shape, init=np.zeros(shape, np.int64))
