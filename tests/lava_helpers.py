"""Run Lava's own fixed-point LearningDense on prepared inputs, recording every step.

Only Lava's built-in processes are used (``lava.proc.io.source.RingBuffer``
feeds ``s_in``, ``s_in_bap`` and ``s_in_y1..3`` as int32 each step; a sink
``RingBuffer`` records ``a_out``; one ``Monitor`` per Var reads it in the
post-learning management phase), so Lava's model discovery never has to
import this directory.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.learning.learning_rule import Loihi2FLearningRule, Loihi3FLearningRule
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import LearningDense
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.monitor.process import Monitor

from process_models.learning_dense.models import PyLearningDenseModelStochastic

#: LearningDense Vars recorded after every step.
RECORDED = ("weights", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3")


def _source(values: np.ndarray, port) -> Source:
    """RingBuffer sending values[t] (shape [steps, n]) at step t + 1."""
    src = Source(data=np.ascontiguousarray(np.asarray(values, dtype=np.int32).T))
    src.s_out.connect(port)
    return src


def run_lava_learning_dense(*, weights, learning_rule, s_in, s_in_bap=None, y=None,
                            record=RECORDED, stochastic=False, **dense_kwargs) -> dict:
    """Run ``LearningDense`` (Loihi2SimCfg, fixed_pt) for ``len(s_in)`` steps.

    Parameters
    ----------
    weights : ndarray, (n_post, n_pre)
    learning_rule : LoihiLearningRule
    s_in : ndarray, (steps, n_pre)
        Pre spikes or graded payloads per step.
    s_in_bap : ndarray, (steps, n_post), optional
        Post spikes; connected for 2F and 3F rules.
    y : tuple of three ndarrays (steps, n_post), optional
        y1, y2, y3 per step; connected for 3F rules.
    record : sequence of str
        LearningDense Vars to record.
    stochastic : bool
        Run this package's stochastic model of ``LearningDense``
        (:mod:`process_models.learning_dense.models`) instead of Lava's.
    **dense_kwargs
        Passed to ``LearningDense`` (tag_1, tag_2, num_weight_bits, ...).

    Returns
    -------
    dict
        ``a_out`` (steps, n_post) and each recorded Var (steps, ...), as int64.
    """
    steps = len(s_in)
    dense = LearningDense(weights=weights, learning_rule=learning_rule, **dense_kwargs)
    _source(s_in, dense.s_in)
    if isinstance(learning_rule, (Loihi2FLearningRule, Loihi3FLearningRule)):
        bap = np.zeros((steps, weights.shape[0])) if s_in_bap is None else s_in_bap
        _source(bap, dense.s_in_bap)
    if isinstance(learning_rule, Loihi3FLearningRule):
        for values, port in zip(y, (dense.s_in_y1, dense.s_in_y2, dense.s_in_y3)):
            _source(values, port)
    sink = Sink(shape=(weights.shape[0],), buffer=steps)
    dense.a_out.connect(sink.a_in)
    monitors = {}
    for name in record:
        monitors[name] = Monitor()
        monitors[name].probe(getattr(dense, name), steps)
    try:
        dense.run(condition=RunSteps(num_steps=steps),
                  run_cfg=Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=(
                      {dense: PyLearningDenseModelStochastic} if stochastic else None)))
        out = {name: np.asarray(mon.get_data()[dense.name][name]).astype(np.int64)
               for name, mon in monitors.items()}
        out["a_out"] = np.asarray(sink.data.get()).T.astype(np.int64)
    finally:
        dense.stop()
    return out
