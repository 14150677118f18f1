"""The fast engine's e-prop network: the Lava graph's integer arithmetic in NumPy.

Same kernels (:mod:`lava_eprop.engine.neurons`) as the Lava process models,
and :class:`~lava_eprop.engine.LearningDenseEngine` for the plastic
projections, with a leading axis of independent instances. One
:meth:`FastNetwork.step` reproduces one time step of the graph built by
:mod:`lava_eprop.lava_graph`, in the order Lava's channels impose::

    per group G (lif, then alif):
      a_in = a_out(input->G) + a_out(recurrent->G)   (each computed last step)
      l_in = G's slice of the error process's l_buff  (B e of last step)
      neuron G: rec_step(a_in, l_in) -> z_G, y1, y2, y3
    z = concatenation of the groups' spikes
    input->G:      s_in = x,  bap = z_G, y1..y3 of G
    recurrent->G:  s_in = z,  bap = z_G, y1..y3 of G
    readout:       readout_step(a_out(recurrent->readout))
    error:         error_step(v, target, mask) -> e, y3_out; l_buff = B e
    recurrent->readout: s_in = z, bap = 0, y1 = y2 = 0, y3 = y3_out

Projections learn every step (``t_epoch = 1``) with their compiled rules.

Saturation and wrap-around events are counted (:attr:`FastNetwork.counters`):
the projections' own (:attr:`LearningDenseEngine.counters`) and, per neuron
group and the readout, the int32 wrap of the summed input ``a_in``, the
24-bit wrap of ``u`` and the 24-bit saturation of ``v``. The neuron events
are found from outside the kernels: a cheap bound rules them out on most
steps (``|decay(x)| <= |x|``; a saturated ``v`` sits at a rail), else the
step's ``u``, ``v`` are recomputed in int64 without wrap or clip (the
formulas of :func:`neurons.subthreshold` and :func:`neurons.rec_step`) and
compared.
"""
from __future__ import annotations

import numpy as np

from lava_eprop.engine import neurons
from lava_eprop.engine.neurons import UV_MAX, V_SHIFT
from lava_eprop.engine.learning_dense import LearningDenseEngine
from lava_eprop.engine.spec import NetworkSpec

READOUT = "recurrent->readout"


def _a_out(dense: LearningDenseEngine) -> np.ndarray:
    """What the projection sends this step (its buffer, wrapped to int32)."""
    return dense.a_buff.astype(np.int64).astype(np.int32).astype(np.int64)


def _u_wraps(u_prev, a_in, du, u_new) -> int:
    """How many ``u`` wrapped in ``wrap24(decay(u, du + 1) + (a_in << 6))``."""
    if np.abs(u_prev).max(initial=0) + (np.abs(a_in).max(initial=0) << V_SHIFT) < UV_MAX:
        return 0  # |decay(u)| <= |u|: the sum stays inside (-2^23, 2^23)
    wide = neurons.decay(u_prev, np.asarray(du, np.int64) + 1) + (a_in << V_SHIFT)
    return int(np.count_nonzero(wide != u_new))


def _v_saturations(v_prev, u_new, reset, dv, v_new) -> int:
    """How many ``v`` the 24-bit saturation changed in ``clip24(decay(v, dv) + u - reset)``."""
    if not (np.abs(v_new) == UV_MAX - 1).any():
        return 0  # a saturated v sits at a rail
    wide = neurons.decay(v_prev, dv) + u_new - reset
    return int(np.count_nonzero(wide != v_new))


class FastNetwork:
    """``n_instances`` copies of the integer e-prop network, stepped together.

    Parameters
    ----------
    spec : NetworkSpec
    n_instances : int
    seed : int
        Rule ``rng_seed`` base (:meth:`NetworkSpec.rule_seed`), as the Lava graph's.

    Attributes
    ----------
    dense : dict of LearningDenseEngine, keyed by projection name
    rec : dict of RecState per group; sent : RecOut of the last step (all groups)
    readout : ReadoutState; e, y3_out : error outputs; l_buff : B e
    """

    #: Neuron-side counters, per group G and the readout: ``G.a_in``,
    #: ``G.u``, ``G.v``, ``readout.u``, ``readout.v``.
    NEURON_COUNTERS = ("a_in", "u", "v")

    def __init__(self, spec: NetworkSpec, n_instances: int = 1, seed: int = 0) -> None:
        self.spec = spec
        self.n_instances = n_instances
        self.dense = {name: LearningDenseEngine(weights=p.weights,
                                                learning_rule=p.rule(spec.rule_seed(name, seed)),
                                                n_instances=n_instances, weight_exp=p.weight_exp)
                      for name, p in spec.projections.items()}
        self.rec = {g.name: neurons.rec_initial((n_instances, g.size), g.rec) for g in spec.groups}
        zeros = np.zeros((n_instances, spec.n_rec), np.int64)
        self.sent = neurons.RecOut(zeros, zeros, zeros, zeros)
        self.readout = neurons.readout_initial((n_instances, spec.n_out))
        self.e = np.zeros((n_instances, spec.n_out), np.int64)
        self.y3_out = np.zeros((n_instances, spec.n_out), np.int64)
        self.l_buff = np.zeros((n_instances, spec.n_rec), np.int64)
        self.feedback = np.broadcast_to(spec.feedback, (n_instances,) + spec.feedback.shape)
        self._neuron_counts = {f"{g.name}.{var}": 0 for g in spec.groups
                               for var in self.NEURON_COUNTERS}
        self._neuron_counts.update({"readout.u": 0, "readout.v": 0})

    @property
    def counters(self) -> dict:
        """Saturation and wrap-around events so far, summed over instances and
        steps: ``<projection>.<variable>`` (see
        :attr:`LearningDenseEngine.counters`), ``<group>.a_in`` (int32 wrap
        of the summed input), ``<group>.u`` (24-bit wrap), ``<group>.v``
        (24-bit saturation), ``readout.u``, ``readout.v``."""
        counts = {f"{name}.{var}": n for name, dense in self.dense.items()
                  for var, n in dense.counters.items()}
        counts.update(self._neuron_counts)
        return counts

    def step(self, x, target, mask) -> neurons.RecOut:
        """One time step; ``x`` [I, n_in] (0/1), ``target`` [I, n_out], ``mask`` [I].

        Returns what the neurons sent (all groups concatenated).
        """
        outs = {}
        for g in self.spec.groups:
            wide = _a_out(self.dense[f"input->{g.name}"]) \
                + _a_out(self.dense[f"recurrent->{g.name}"])
            a_in = wide.astype(np.int32).astype(np.int64)     # the InPort sums in int32
            self._neuron_counts[f"{g.name}.a_in"] += int(np.count_nonzero(a_in != wide))
            l_in = self.l_buff[:, g.offset:g.offset + g.size]
            before = self.rec[g.name]
            self.rec[g.name], outs[g.name] = neurons.rec_step(before, a_in, l_in, g.rec)
            self._count_neuron(g.name, before, a_in, g.rec, self.rec[g.name],
                               before.z * (np.asarray(g.rec.vth, np.int64) << V_SHIFT))
        self.sent = neurons.RecOut(*(np.concatenate([getattr(o, f) for o in outs.values()], -1)
                                     for f in neurons.RecOut._fields))
        a_out = _a_out(self.dense[READOUT])
        for g in self.spec.groups:
            out = outs[g.name]
            self.dense[f"input->{g.name}"].step(x, out.z, out.y1, out.y2, out.y3)
            self.dense[f"recurrent->{g.name}"].step(self.sent.z, out.z, out.y1, out.y2, out.y3)
        before, self.readout = self.readout, neurons.readout_step(self.readout, a_out,
                                                                  self.spec.readout)
        self._count_neuron("readout", before, a_out, self.spec.readout, self.readout, 0)
        self.e, self.y3_out = neurons.error_step(self.readout.v, target, mask, self.spec.error)
        self.l_buff = neurons.learning_signal(self.feedback, self.e)
        self.dense[READOUT].step(self.sent.z, 0, 0, 0, self.y3_out)
        return self.sent

    def _count_neuron(self, name: str, before, a_in, p, after, reset) -> None:
        self._neuron_counts[f"{name}.u"] += _u_wraps(before.u, a_in, p.du, after.u)
        self._neuron_counts[f"{name}.v"] += _v_saturations(before.v, after.u, reset, p.dv,
                                                           after.v)

    def run(self, inputs, targets, mask, record=None) -> dict:
        """Run ``T`` steps; ``inputs`` [I, T, n_in], ``targets`` [I, T, n_out] (integers,
        :meth:`NetworkSpec.targets`), ``mask`` [I, T]. Returns recorded arrays [T, I, ...].

        ``record`` names what to keep every step (default: spikes ``z`` and the
        readout ``v``); see :meth:`observe`.
        """
        record = ("z", "readout_v") if record is None else tuple(record)
        out = {name: [] for name in record}
        for t in range(inputs.shape[1]):
            self.step(inputs[:, t], targets[:, t], mask[:, t])
            seen = self.observe(record)
            for name in record:
                out[name].append(seen[name])
        return {name: np.stack(values) for name, values in out.items()}

    def observe(self, names) -> dict:
        """Current values by name: neuron state ``u, v, b, r, f, q`` and sent ``z, y1, y2, y3``
        (groups concatenated), ``readout_v``, ``e``, ``err_y3``, and
        ``<projection>.<var>`` of a projection (``input->lif.weights``, ``.tag_1``,
        ``.tag_2``, ``.x1``, ...)."""
        seen = {}
        for name in names:
            if name in neurons.RecOut._fields:
                seen[name] = np.array(getattr(self.sent, name))
            elif name in neurons.RecState._fields:
                seen[name] = np.concatenate([getattr(self.rec[g.name], name)
                                             for g in self.spec.groups], -1)
            elif name == "readout_v":
                seen[name] = np.array(self.readout.v)
            elif name == "e":
                seen[name] = np.array(self.e)
            elif name == "err_y3":
                seen[name] = np.array(self.y3_out)
            else:
                proj, var = name.split(".")
                seen[name] = np.array(getattr(self.dense[proj], var))
        return seen
