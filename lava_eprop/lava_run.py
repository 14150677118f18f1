"""Run configurations for the e-prop Lava graph.

The graph: docs/architecture.md#the-loihi-2-mapping.

The processes live in :mod:`lava_eprop.processes` and their models in
:mod:`process_models`, so Lava's model discovery (which only looks beside a
process's module) cannot find them: :func:`run_config` names them explicitly
in ``exception_proc_model_map``. Lava's compiler looks a *process instance*
up in that map before discovery (``proc in map``) and the run config a
process *class* (``select``), so the map is a :class:`ProcessModelMap`, a
dict keyed by class that also answers for instances of those classes.
Lava's own processes (``LearningDense``, ``RingBuffer``, ``Monitor``) are
found as usual with the same tag, except ``LearningDense`` under the
``stochastic`` rounding, which the map points to this package's second model
of it (:mod:`process_models.learning_dense.models`).
"""
from __future__ import annotations

from lava_eprop.lava_runtime import import_lava_runtime

import_lava_runtime()
# isort: split
from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg

from lava.proc.dense.process import LearningDense

from lava_eprop.errors import UserError
from lava_eprop.processes.eprop_neuron.process import EpropNeuron
from lava_eprop.processes.error.process import EpropError
from lava_eprop.processes.readout.process import LeakyReadout
from process_models.eprop_neuron.models import (
    PyEpropNeuronModelFixed,
    PyEpropNeuronModelFloat,
)
from process_models.error.models import PyEpropErrorModelFixed, PyEpropErrorModelFloat
from process_models.learning_dense.models import PyLearningDenseModelStochastic
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


#: ``fixed_point.rounding`` -> the CPU model of Lava's ``LearningDense`` (None: Lava's own).
LEARNING_DENSE_MODELS = {"lava": None, "stochastic": PyLearningDenseModelStochastic}


def model_map(fixed: bool = True, rounding: str = "lava") -> ProcessModelMap:
    """``{process class: model class}`` of this package's processes, and of
    ``LearningDense`` for the ``stochastic`` rounding (fixed-point models)."""
    models = dict(_MODELS[bool(fixed)])
    if fixed and LEARNING_DENSE_MODELS[rounding] is not None:
        models[LearningDense] = LEARNING_DENSE_MODELS[rounding]
    return ProcessModelMap(models)


def run_config(fixed: bool = True, hardware: bool = False, rounding: str = "lava"):
    """``Loihi2SimCfg`` selecting the fixed-point (``fixed_pt``) or float models.

    Parameters
    ----------
    fixed : bool
        Bit-accurate fixed-point models (True) or floating-point ones.
    hardware : bool
        ``Loihi2HwCfg`` for a Loihi 2 system; needs Intel's ``lava-loihi``
        extension (:func:`lava.utils.loihi.is_installed`) and ``fixed``.
    rounding : {"lava", "stochastic"}
        The CPU model of ``LearningDense`` in the simulator
        (``fixed_point.rounding``): Lava's own, or the stochastic model. The
        hardware graph is the same either way.

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
                        exception_proc_model_map=model_map(fixed, rounding))
