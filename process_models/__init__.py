"""The Lava processes of e-prop and their models, one folder per process, as in Lava.

``<folder>/process.py`` defines a process and ``<folder>/models.py`` its
``fixed_pt`` (bit-accurate) and ``floating_pt`` CPU models. Lava's compiler
finds a process's models by executing each module in the folder of the
process's module and importing the models it finds there as
``<the process's package>.<module>`` (``ProcGroupDiGraphs._find_proc_models``
in Lava 0.10), so a stock ``Loihi2SimCfg(select_tag="fixed_pt")`` (or
``"floating_pt"``) selects them only when they sit beside the process. Lava
executes these files under their bare names, so they import each other by
absolute names; a relative import would hide the models from it.

``learning_dense/`` holds a second CPU model of Lava's own ``LearningDense``,
which that search cannot reach (:mod:`lava_eprop.lava_run` says how it is
selected). Users import the processes from :mod:`lava_eprop.processes`.
"""
from lava_eprop.lava_runtime import import_lava_runtime

import_lava_runtime()
