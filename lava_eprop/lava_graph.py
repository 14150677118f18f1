"""Build and run the e-prop Lava graph from a :class:`~lava_eprop.engine.spec.NetworkSpec`.

The graph (recurrent groups ``G``: ``lif`` and/or ``alif``)::

    RingBuffer x ──> LearningDense input->G ──┐
                     LearningDense rec->G ────┴─> EpropNeuron G ─ s_out, y1..y3 ─> its
                                                  projections' s_in_bap, s_in_y1..3
    s_out_layer of every G (its spikes in a layer-sized vector) ─> rec->G s_in,
        rec->readout s_in (the disjoint parts sum to the layer's spikes)
    LearningDense rec->readout ─> LeakyReadout ─> EpropError <── RingBuffers target, mask
    EpropError l_out (B e of all neurons, one step late) ──> every EpropNeuron's l_in
    EpropError y3_out (and zero bap, y1, y2) ──> rec->readout's third-factor ports

The plastic projections are Lava's own ``LearningDense`` with the compiled
``Loihi3FLearningRule``s; the feedback B lives in :class:`EpropError`.
:class:`~lava_eprop.engine.network.FastNetwork` is the same graph in NumPy.
"""
from __future__ import annotations

from lava_eprop.lava_runtime import import_lava_runtime

import_lava_runtime()
# isort: split
import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.proc.dense.process import Dense, LearningDense
from lava.proc.io.source import RingBuffer
from lava.proc.monitor.process import Monitor
from lava.utils.weightutils import SignMode

from lava_eprop.engine.network import READOUT
from lava_eprop.engine.spec import NetworkSpec
from lava_eprop.lava_run import run_config
from lava_eprop.processes import EpropError, EpropNeuron, LeakyReadout

DENSE_VARS = ("weights", "tag_1", "tag_2", "x1")


class LavaGraph:
    """The connected processes of one network instance.

    Parameters
    ----------
    spec : NetworkSpec
    inputs : ndarray, (T, n_in)
        Input spikes; step ``t`` (1-based) sends ``inputs[t-1]``.
    targets : ndarray, int, (T, n_out)
        From :meth:`NetworkSpec.targets`.
    mask : ndarray, (T,)
    seed : int
        Rule ``rng_seed`` base, as for :class:`~lava_eprop.engine.network.FastNetwork`.
    fixed : bool
        Build for the fixed-point models (run with ``run(fixed=True)``). For
        the float models (``fixed=False``), whose ``LearningDense`` applies no
        weight exponent, the weights are given as ``w * 2^weight_exp``: the
        forward dynamics then match; their learning follows Lava's float
        ``LearningDense`` (rules in those units) and is not a twin of the
        fixed-point learning.
    learn : bool
        With False the projections are Lava's plain ``Dense`` (same weights,
        exponent and first-step truncation as ``LearningDense``, sign mode
        MIXED as ``LearningDense`` assumes) and no third factors are wired:
        inference with frozen weights. Masking the error is not enough, as
        a received ``y3 = 64`` may act as 63 and move weights by 1.
    """

    def __init__(self, spec: NetworkSpec, inputs, targets, mask, seed: int = 0,
                 fixed: bool = True, learn: bool = True) -> None:
        self.spec = spec
        self.fixed = fixed
        self.n_steps = len(inputs)
        n_rec, n_out = spec.n_rec, spec.n_out
        self.neurons = {g.name: EpropNeuron(shape=(g.size,), params=g.rec, layer_size=n_rec,
                                            offset=g.offset, name=g.name)
                        for g in spec.groups}
        self.readout = LeakyReadout(shape=(n_out,), params=spec.readout, name="readout")
        self.error = EpropError(n_out=n_out, n_rec=n_rec, params=spec.error,
                                feedback=spec.feedback, name="error")
        self.dense = {}
        for name, p in spec.projections.items():
            weights, exp = (p.weights, p.weight_exp) if fixed else \
                (p.weights * 2.0 ** p.weight_exp, 0)
            if learn:
                self.dense[name] = LearningDense(weights=weights,
                                                 learning_rule=p.rule(spec.rule_seed(name, seed)).to_lava(),
                                                 weight_exp=exp, name=name)
            else:
                self.dense[name] = Dense(weights=weights, weight_exp=exp, name=name,
                                         sign_mode=SignMode.MIXED)
        d_out = self.dense[READOUT]
        for n in self.neurons.values():         # layer spikes: disjoint parts summed by s_in
            for dense in [self.dense[f"recurrent->{g}"] for g in self.neurons] + [d_out]:
                n.s_out_layer.connect(dense.s_in)
        for g, n in self.neurons.items():
            d_in, d_rec = self.dense[f"input->{g}"], self.dense[f"recurrent->{g}"]
            for dense in (d_in, d_rec):
                if learn:
                    n.s_out.connect(dense.s_in_bap)
                    for k in (1, 2, 3):
                        getattr(n, f"y{k}_out").connect(getattr(dense, f"s_in_y{k}"))
                dense.a_out.connect(n.a_in)
            self.error.l_out.connect(n.l_in)
        self.sources = [
            _source(inputs, [self.dense[f"input->{g}"].s_in for g in self.neurons]),
            _source(targets, [self.error.target_in]),
            _source(np.asarray(mask)[:, None], [self.error.mask_in])]
        d_out.a_out.connect(self.readout.a_in)
        self.readout.v_out.connect(self.error.v_in)
        if learn:
            self.error.bap_out.connect(d_out.s_in_bap)
            for k in (1, 2, 3):
                getattr(self.error, f"y{k}_out").connect(getattr(d_out, f"s_in_y{k}"))

    @property
    def _any(self):
        """A process of the graph (run and stop act on the whole graph)."""
        return self.readout

    def _vars(self, name: str) -> list:
        """The Var(s) behind a :meth:`FastNetwork.observe` name (one per group for
        neuron variables, concatenated when read)."""
        if name == "readout_v":
            return [self.readout.v]
        if name == "err_y3":
            return [self.error.y3]
        if name == "e":
            return [self.error.e]
        if "." in name:
            proj, var = name.split(".")
            return [getattr(self.dense[proj], var)]
        return [getattr(n, name) for n in self.neurons.values()]

    def run(self, record=("z", "readout_v"), hardware: bool = False, run_cfg=None) -> dict:
        """Run all steps in ``Loihi2SimCfg`` (``Loihi2HwCfg`` with ``hardware``, see
        :func:`~lava_eprop.lava_run.run_config`), or in a Lava ``run_cfg`` of the
        caller's; return each recorded quantity [T, ...] (int64 for the
        fixed-point models, float otherwise). The graph is stopped in any case.
        """
        if run_cfg is None:
            run_cfg = run_config(fixed=self.fixed, hardware=hardware, rounding=self.spec.rounding)
        monitors = {}
        for name in record:
            monitors[name] = []
            for var in self._vars(name):
                mon = Monitor()
                mon.probe(var, self.n_steps)
                monitors[name].append((mon, var))
        try:
            self._any.run(condition=RunSteps(num_steps=self.n_steps), run_cfg=run_cfg)
            out = {}
            for name, probes in monitors.items():
                parts = [np.asarray(mon.get_data()[var.process.name][var.name])
                         for mon, var in probes]
                out[name] = np.concatenate(parts, axis=-1).astype(
                    np.int64 if self.fixed else float)
            self.final_weights = {k: d.weights.get() for k, d in self.dense.items()}
        finally:
            self._any.stop()
        return out


def _source(values, ports) -> RingBuffer:
    """RingBuffer sending ``values[t]`` ([T, n]) at step ``t + 1`` as int32 to ``ports``."""
    src = RingBuffer(data=np.ascontiguousarray(np.asarray(values).astype(np.int32).T))
    for port in ports:
        src.s_out.connect(port)
    return src
