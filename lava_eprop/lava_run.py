"""Run configurations for the e-prop Lava graph (DESIGN section 4).

The processes live in :mod:`lava_eprop.processes` and their models in
:mod:`process_models`, so Lava's model discovery (which only looks beside a
process's module) cannot find them: :func:`run_config` names them explicitly
in ``exception_proc_model_map``. Lava's compiler looks a *process instance*
up in that map before discovery (``proc in map``) and the run config a
process *class* (``select``), so the map is a :class:`ProcessModelMap`, a
dict keyed by class that also answers for instances of those classes.
Lava's own processes (``LearningDense``, ``RingBuffer``, ``Monitor``) are
found as usual with the same tag.
"""
from __future__ import annotations

from lava_eprop.lava_runtime import import_lava_runtime

import_lava_runtime()
# isort: split
from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg

from lava_eprop.errors import UserError
from lava_eprop.processes.eprop_neuron.process import EpropNeuron
from lava_eprop.processes.error.process import EpropError
from lava_eprop.processes.readout.process import LeakyReadout
from process_models.eprop_neuron.models import (
    PyEpropNeuronModelFixed,
    PyEpropNeuronModelFloat,
)
from process_models.error.models import PyEpropErrorModelFixed, PyEpropErrorModelFloat
from process_models.readout.models import (
    PyLeakyReadoutModelFixed,
    PyLeakyReadoutModelFloat,
)

_MODELS = {
    True: {EpropNeuron: PyEpropNeuronModelFixed, LeakyReadout: PyLeakyReadoutModelFixed,
           EpropError: PyEpropErrorModelFixed},
    False: {EpropNeuron: PyEpropNeuronModelFloat, LeakyReadout: PyLeakyReadoutModelFloat,
            EpropError: PyEpropErrorModelFloat},
}


class ProcessModelMap(dict):
    """``{process class: model class}`` that also maps instances of those classes."""

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or dict.__contains__(self, type(key))

    def __getitem__(self, key):
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return dict.__getitem__(self, type(key))


def model_map(fixed: bool = True) -> ProcessModelMap:
    """``{process class: model class}`` of this package's processes."""
    return ProcessModelMap(_MODELS[bool(fixed)])


def run_config(fixed: bool = True, hardware: bool = False):
    """``Loihi2SimCfg`` selecting the fixed-point (``fixed_pt``) or float models.

    Parameters
    ----------
    fixed : bool
        Bit-accurate fixed-point models (True) or floating-point ones.
    hardware : bool
        ``Loihi2HwCfg`` for a Loihi 2 system; needs Intel's ``lava-loihi``
        extension (:func:`lava.utils.loihi.is_installed`) and ``fixed``.

    Raises
    ------
    UserError
        Hardware requested without the extension, or with float models.
    """
    if hardware:
        from lava.utils import loihi
        if not loihi.is_installed():
            raise UserError("Loihi 2 hardware support is not installed (lava-loihi); run in "
                            "the simulator with run_config(hardware=False) or --engine lava")
        if not fixed:
            raise UserError("hardware runs need the fixed-point models (allowed: fixed=True)")
        return Loihi2HwCfg(select_tag="fixed_pt", exception_proc_model_map=model_map(True))
    return Loihi2SimCfg(select_tag="fixed_pt" if fixed else "floating_pt",
                        exception_proc_model_map=model_map(fixed))
