"""Models of :class:`process_models.readout.process.LeakyReadout`."""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_eprop.engine import neurons
from process_models.readout.process import LeakyReadout


class _ReadoutModel(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    _step = None

    def run_spk(self) -> None:
        s = neurons.ReadoutState(self.u, self.v)
        s = type(self)._step(s, self.a_in.recv(), self.proc_params["params"])
        self.u[:], self.v[:] = s.u, s.v
        self.v_out.send(np.asarray(s.v))


@implements(proc=LeakyReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLeakyReadoutModelFixed(_ReadoutModel):
    """Bit-accurate: exactly :func:`lava_eprop.engine.neurons.readout_step`
    (24-bit u wraps, v saturates; v sent as int32)."""

    v_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    u: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    _step = staticmethod(neurons.readout_step)


@implements(proc=LeakyReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLeakyReadoutModelFloat(_ReadoutModel):
    """Float: :data:`lava_eprop.engine.neurons.READOUT_STEP` in float64 (same units)."""

    v_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    _step = staticmethod(neurons.FLOAT_PORT_STEPS.readout_step)
