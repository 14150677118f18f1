"""Run configurations for the e-prop Lava graph.

The graph: docs/architecture.md#the-loihi-2-mapping.

The run configs are Lava's stock ones: ``Loihi2SimCfg`` with
``select_tag="fixed_pt"`` or ``"floating_pt"``, ``Loihi2HwCfg`` with
``"fixed_pt"``. Lava's model discovery finds this package's processes' models
beside them (:mod:`process_models`), and Lava's own processes
(``LearningDense``, ``Dense``, ``RingBuffer``, ``Monitor``) in Lava.

One choice is not Lava's to find: the ``stochastic`` rounding
(``fixed_point.rounding``) runs this project's second CPU model of Lava's
``LearningDense`` (:mod:`process_models.learning_dense.models`). Discovery
looks for a process's models only in the folder of the process's module,
here Lava's installed ``lava/proc/dense``, so no tag can select a model
kept elsewhere; the run config names it in ``exception_proc_model_map``
(``{LearningDense: model}``), which Lava's ``select`` consults by process
class before any tag. A subclass of ``LearningDense`` with the model beside
it would be discovered, but discovery matches models to the exact process
class (``type(proc) is model.implements_process``): the subclass would lose
every other model of ``LearningDense``, Lava's and those of Loihi 2. The map
keeps one graph for the simulator and the chip.
"""
from __future__ import annotations

from lava_eprop.lava_runtime import import_lava_runtime

import_lava_runtime()
# isort: split
from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg
from lava.proc.dense.process import LearningDense

from lava_eprop.errors import UserError
from process_models.learning_dense.models import PyLearningDenseModelStochastic

#: ``fixed_point.rounding`` -> the CPU model of Lava's ``LearningDense`` (None: Lava's own).
LEARNING_DENSE_MODELS = {"lava": None, "stochastic": PyLearningDenseModelStochastic}


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
        return Loihi2HwCfg(select_tag="fixed_pt")
    model = LEARNING_DENSE_MODELS[rounding] if fixed else None
    return Loihi2SimCfg(select_tag="fixed_pt" if fixed else "floating_pt",
                        exception_proc_model_map={LearningDense: model} if model else None)
