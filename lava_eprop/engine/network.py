"""The fast engine's e-prop network: the Lava graph's integer arithmetic, compiled or not.

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
With ``learn=False`` they are Lava's plain ``Dense`` instead
(:class:`~lava_eprop.engine.dense.DenseEngine`, the graph of
``LavaGraph(learn=False)``): the same delivery, after the same first-step
truncation, and weights that never change; the neurons, readout and error
step as above (their third factors then reach no synapse).

Saturation and wrap-around events are counted (:attr:`FastNetwork.counters`):
the projections' own (:attr:`LearningDenseEngine.counters`) and, per neuron
group and the readout, the int32 wrap of the summed input ``a_in``, the
24-bit wrap of ``u`` and the 24-bit saturation of ``v``.

With numba (``fused``, the default) the neuron side runs compiled too
(:mod:`lava_eprop.engine.neurons_fused`, generated from the same equations),
updating the neuron, readout and error arrays in place, and the readout and
error step before the groups' projections (they read nothing those write);
with ``fused=False``, the NumPy form of the equations
(:mod:`lava_eprop.engine.neurons`) runs, and the projections' kernels
interpreted. Both count the neuron events with
the equations' own ``sat`` and ``wrap24`` operations.

Compiled and learning, :meth:`FastNetwork.run` makes the calls of all its
steps from one generated numba function
(:mod:`lava_eprop.engine.network_codegen`) instead of Python: the same
kernels in the same order, the same state after.
"""
from __future__ import annotations

import numpy as np

from lava_eprop.engine import fused as fused_kernel
from lava_eprop.engine import network_codegen, neurons, neurons_fused
from lava_eprop.engine.dense import DenseEngine
from lava_eprop.engine.learning_dense import LearningDenseEngine
from lava_eprop.engine.spec import NetworkSpec

READOUT = "recurrent->readout"
#: What the compiled run records (other names step by step): neuron arrays by
#: index in a group's (RecState, RecOut.y1 .. y3), or the readout side's.
_READOUT_RECORDS = ("readout_v", "e", "err_y3")   # n_out wide; the others n_rec
_RECORDABLE = {**{name: i for i, name in enumerate(neurons.RecState._fields)},
               **{name: network_codegen.NEURON_ARRAYS.index(name) for name in ("y1", "y2", "y3")},
               **{name: i for i, name in enumerate(_READOUT_RECORDS)}}


def _with_item(items: tuple, index: int, value) -> tuple:
    return items[:index] + (value,) + items[index + 1:]


def _a_out(dense: LearningDenseEngine | DenseEngine) -> np.ndarray:
    """What the projection sends this step (its buffer, wrapped to int32)."""
    return dense.a_buff.astype(np.int64).astype(np.int32).astype(np.int64)


def _int64(values) -> np.ndarray:
    """``values`` as a C-ordered int64 array (no copy when it is one)."""
    return np.ascontiguousarray(values, np.int64)


class FastNetwork:
    """``n_instances`` copies of the integer e-prop network, stepped together.

    Parameters
    ----------
    spec : NetworkSpec
    n_instances : int
    seed : int
        Rule ``rng_seed`` base (:meth:`NetworkSpec.rule_seed`), as the Lava graph's.
    fused : bool, optional
        Compiled (numba, the default) or not: projections interpreted
        (:class:`LearningDenseEngine`'s ``fused``), neurons in NumPy.
    learn : bool, optional
        With False the projections are frozen ``Dense`` ones
        (:class:`DenseEngine`): inference, weights never change.

    With ``spec.rounding == "stochastic"`` (``fixed_point.rounding``) the
    learning projections run the stochastic model of the learning engine
    (:class:`LearningDenseEngine`), whose numbers are keyed by the rule seeds,
    the step and the synapse: a run is reproducible whatever ran before it.

    Attributes
    ----------
    dense : dict of LearningDenseEngine (DenseEngine without learning), keyed by
        projection name
    rec : dict of RecState per group; sent : RecOut of the last step (all groups)
    readout : ReadoutState; e, y3_out : error outputs; l_buff : B e
        The compiled path (``fused``) updates these arrays in place, step after
        step: copy what is kept (:meth:`observe` and :meth:`run` return copies).
    """

    #: Neuron-side counters (:data:`neurons.NEURON_COUNTERS`) reported per group G as
    #: ``G.<name>``, and of the readout and error process under these keys.
    GROUP_COUNTERS = ("a_in", "u", "v", "b", "f", "y3")
    READOUT_COUNTERS = {"readout.u": "u", "readout.v": "v", "error.e": "e", "error.y3": "e_y3"}

    def __init__(self, spec: NetworkSpec, n_instances: int = 1, seed: int = 0,
                 fused: bool = True, learn: bool = True) -> None:
        self.spec = spec
        self.n_instances = n_instances
        self.learn = learn
        if learn:
            self.dense = {name: LearningDenseEngine(
                weights=p.weights, learning_rule=p.rule(spec.rule_seed(name, seed)),
                n_instances=n_instances, weight_exp=p.weight_exp, fused=fused,
                rounding=spec.rounding)
                for name, p in spec.projections.items()}
        else:
            self.dense = {name: DenseEngine(p.weights, n_instances, weight_exp=p.weight_exp)
                          for name, p in spec.projections.items()}
        self.rec = {g.name: neurons.rec_initial((n_instances, g.size), g.rec) for g in spec.groups}
        zeros = np.zeros((n_instances, spec.n_rec), np.int64)
        self.sent = neurons.RecOut(zeros, zeros, zeros, zeros)
        self.readout = neurons.readout_initial((n_instances, spec.n_out))
        self.e = np.zeros((n_instances, spec.n_out), np.int64)
        self.y3_out = np.zeros((n_instances, spec.n_out), np.int64)
        self.l_buff = np.zeros((n_instances, spec.n_rec), np.int64)
        self.feedback = np.broadcast_to(spec.feedback, (n_instances,) + spec.feedback.shape)
        # per group and the readout: events counted in the slots of neurons.NEURON_COUNTERS
        self._neuron_counts = {name: np.zeros(len(neurons.NEURON_COUNTERS), np.int64)
                               for name in [g.name for g in spec.groups] + ["readout"]}
        self.fused = bool(fused)
        self._run_kernels = {}  # the compiled runs, serial or per instance, made on first use
        if self.fused:
            self._init_fused()

    def _init_fused(self) -> None:
        """Parameter tables and per-group output arrays of the compiled neurons."""
        spec = self.spec
        self._rec_tables = {g.name: neurons_fused.rec_table(g.rec, g.size) for g in spec.groups}
        self._outs = {g.name: neurons.RecOut(self.rec[g.name].z, *(
            np.zeros((self.n_instances, g.size), np.int64) for _ in range(3)))
            for g in spec.groups}
        self._error_table = neurons_fused.error_table(spec.error)
        self._feedback = np.ascontiguousarray(spec.feedback, np.int64)
        self._readout_decays = (np.int64(spec.readout.du), np.int64(spec.readout.dv))
        # per group: its projections, then the kernel's arguments after their a_buff
        # (the state arrays, updated in place, and l_buff's view stay the same objects)
        self._group_calls = [
            (self.rec[g.name] + self._outs[g.name][1:], self.dense[f"input->{g.name}"],
             self.dense[f"recurrent->{g.name}"],
             (self.l_buff[:, g.offset:g.offset + g.size], self._rec_tables[g.name],
              self._neuron_counts[g.name])) for g in spec.groups]

    @property
    def counters(self) -> dict:
        """Saturation and wrap-around events so far, summed over instances and
        steps: ``<projection>.<variable>`` (see
        :attr:`LearningDenseEngine.counters`; only ``a_buff`` without learning),
        ``<group>.a_in`` (int32 wrap of the summed input), ``<group>.u`` (24-bit
        wrap), ``<group>.v``, ``<group>.b``, ``<group>.f`` (24-bit saturation),
        ``<group>.y3`` (learning signal clipped to 7 bits), ``readout.u``,
        ``readout.v``, ``error.e`` (16-bit clip of the error, unmasked steps),
        ``error.y3`` (7-bit clip of the readout's y3)."""
        counts = {f"{name}.{var}": n for name, dense in self.dense.items()
                  for var, n in dense.counters.items()}
        slot = neurons.NEURON_COUNTERS.index
        for name, slots in self._neuron_counts.items():
            if name == "readout":
                counts.update({key: int(slots[slot(var)])
                               for key, var in self.READOUT_COUNTERS.items()})
            else:
                counts.update({f"{name}.{var}": int(slots[slot(var)])
                               for var in self.GROUP_COUNTERS})
        return counts

    def step(self, x, target, mask) -> neurons.RecOut:
        """One time step; ``x`` [I, n_in] (0/1), ``target`` [I, n_out], ``mask`` [I].

        Returns what the neurons sent (all groups concatenated).
        """
        outs, readout_in = self._neurons_fused(target, mask) if self.fused else \
            self._neurons_numpy(target, mask)
        if len(outs) == 1:  # one group: its outputs are the layer's
            (self.sent,) = outs.values()
        else:
            self.sent = neurons.RecOut(*(np.concatenate([getattr(o, f) for o in outs.values()],
                                                        -1) for f in neurons.RecOut._fields))
        for g in self.spec.groups:
            out = outs[g.name]
            self.dense[f"input->{g.name}"].step(x, out.z, out.y1, out.y2, out.y3)
            self.dense[f"recurrent->{g.name}"].step(self.sent.z, out.z, out.y1, out.y2, out.y3)
        self.dense[READOUT].step(self.sent.z, 0, 0, 0, readout_in)
        return self.sent

    def _neurons_numpy(self, target, mask) -> tuple[dict, np.ndarray]:
        """The neuron side of a step by :mod:`neurons`: every group, the readout, the
        error and ``B e``. Returns the groups' outputs and the readout's ``y3``."""
        outs = {}
        for g in self.spec.groups:
            counts = self._neuron_counts[g.name]
            wide = _a_out(self.dense[f"input->{g.name}"]) \
                + _a_out(self.dense[f"recurrent->{g.name}"])
            a_in = wide.astype(np.int32).astype(np.int64)     # the InPort sums in int32
            counts[neurons.A_IN] += np.count_nonzero(a_in != wide)
            l_in = self.l_buff[:, g.offset:g.offset + g.size]
            self.rec[g.name], outs[g.name] = neurons.rec_step(self.rec[g.name], a_in, l_in,
                                                              g.rec, counts)
        counts = self._neuron_counts["readout"]
        self.readout = neurons.readout_step(self.readout, _a_out(self.dense[READOUT]),
                                            self.spec.readout, counts)
        self.e, self.y3_out = neurons.error_step(self.readout.v, target, mask, self.spec.error,
                                                 counts)
        self.l_buff = neurons.learning_signal(self.feedback, self.e)
        return outs, self.y3_out

    def _neurons_fused(self, target, mask) -> tuple[dict, np.ndarray]:
        """:meth:`_neurons_numpy` by the compiled kernels, in place."""
        for state, d_in, d_rec, rest in self._group_calls:
            neurons_fused.rec_step(*state, d_in.a_buff, d_rec.a_buff, *rest)
        neurons_fused.readout_error_step(*self.readout, self.dense[READOUT].a_buff,
                                         *self._readout_decays, _int64(target), _int64(mask),
                                         self._error_table, self._feedback, self.e, self.y3_out,
                                         self.l_buff, self._neuron_counts["readout"])
        return self._outs, self.y3_out

    def run(self, inputs, targets, mask, record=None) -> dict:
        """Run ``T`` steps; ``inputs`` [I, T, n_in], ``targets`` [I, T, n_out] (integers,
        :meth:`NetworkSpec.targets`), ``mask`` [I, T]. Returns recorded arrays [T, I, ...].

        ``record`` names what to keep every step (default: spikes ``z`` and the
        readout ``v``); see :meth:`observe`. Compiled and learning, with neuron,
        readout and error names only, the whole run is one compiled call
        (:mod:`lava_eprop.engine.network_codegen`; the first step of a network
        stays in Python, it truncates the weights); otherwise :meth:`step` runs
        step by step. Either way the values, counters and the state after are
        those of ``T`` calls of :meth:`step`.
        """
        record = ("z", "readout_v") if record is None else tuple(record)
        # step-major C-ordered writable int64 copies: every step then reads contiguous
        # arrays of the types the kernels were compiled for
        inputs, targets, mask = (np.array(np.moveaxis(a, 1, 0), np.int64, order="C")
                                 for a in (inputs, targets, mask))
        if self.fused and self.learn and len(inputs) > 0 \
                and all(name in _RECORDABLE for name in record):
            return self._run_compiled(inputs, targets, mask, record)
        out = {name: [] for name in record}
        for t in range(len(inputs)):
            self.step(inputs[t], targets[t], mask[t])
            seen = self.observe(record)
            for name in record:
                out[name].append(seen[name])
        return {name: np.stack(values) for name, values in out.items()}

    def _run_compiled(self, inputs, targets, mask, record) -> dict:
        """:meth:`run` of step-major arrays as one compiled call
        (:mod:`lava_eprop.engine.network_codegen`): the same calls as
        :meth:`step`, the same state and counters after it."""
        n_steps, n = len(inputs), self.n_instances
        records = {name: np.zeros((n_steps, n, self.spec.n_out if name in _READOUT_RECORDS
                                   else self.spec.n_rec), np.int64) for name in record}
        first = 0
        if self.dense[READOUT].time_step == 0:  # step 1 truncates the weights: in Python
            self.step(inputs[0], targets[0], mask[0])
            for name, value in self.observe(record).items():
                records[name][0] = value
            first = 1
        if first < n_steps:
            self._compiled_loop(inputs[first:], targets[first:], mask[first:],
                                [records[name][first:] for name in record], record)
        return records

    def _compiled_loop(self, inputs, targets, mask, records: list, record) -> None:
        groups, spec = self.spec.groups, self.spec
        names = [f"{kind}->{g.name}" for g in groups for kind in ("input", "recurrent")]
        names.append(READOUT)
        dense = [self.dense[name] for name in names]
        # instances in parallel over numba's threads (more than one of each)
        per_instance = self.n_instances > 1 and fused_kernel.numba.get_num_threads() > 1
        if per_instance not in self._run_kernels:
            self._run_kernels[per_instance] = network_codegen.network_run(
                [d.compiled_step for d in dense], len(dense[0].kernel_arguments(0)[2]),
                per_instance)
        ts0 = dense[0].time_step + 1
        projections = tuple(d.kernel_arguments(len(inputs)) for d in dense)
        group_args = tuple((tuple(state), l_in, table, counts)
                           for state, _, _, (l_in, table, counts) in self._group_calls)
        readout_counts = self._neuron_counts["readout"]
        if per_instance:  # counters with an instance axis, summed after the run
            totals = [static[network_codegen.PROJECTION_COUNTERS]
                      for _, _, static in projections]
            totals += [counts for *_, counts in group_args] + [readout_counts]
            projections = tuple((state, rows, _with_item(
                static, network_codegen.PROJECTION_COUNTERS, self._per_instance(static[
                    network_codegen.PROJECTION_COUNTERS]))) for state, rows, static in projections)
            group_args = tuple((*rest, self._per_instance(counts))
                               for *rest, counts in group_args)
            readout_counts = self._per_instance(readout_counts)
        readout = (*self.readout, *self._readout_decays, self._error_table, self._feedback,
                   self.e, self.y3_out, self.l_buff, readout_counts,
                   np.zeros((self.n_instances, spec.n_out), np.int64))
        offsets = np.array([g.offset for g in groups], np.int64)
        sent_z = group_args[0][0][network_codegen.Z] if len(groups) == 1 else \
            np.zeros((self.n_instances, spec.n_rec), np.int64)
        sources = [array for state, *_ in group_args for array in state]
        sources += [self.readout.v, self.e, self.y3_out]   # in _READOUT_RECORDS order
        plan, n_arrays = [], len(network_codegen.NEURON_ARRAYS)
        for k, name in enumerate(record):
            index = _RECORDABLE[name]
            if name in _READOUT_RECORDS:
                plan.append((k, n_arrays * len(groups) + index, 0))
            else:
                plan += [(k, n_arrays * g + index, group.offset)
                         for g, group in enumerate(groups)]
        plan = np.array(plan, np.int64).reshape(-1, 3)
        if not records:  # the kernel's tuple of records needs one type
            records = [np.zeros((len(inputs), self.n_instances, 0), np.int64)]
        run = self._run_kernels[per_instance]
        run(ts0, inputs, targets, mask, group_args, projections, readout, offsets, sent_z,
            tuple(sources), plan, tuple(records))
        if per_instance:
            per_instance_counts = [static[network_codegen.PROJECTION_COUNTERS]
                                   for _, _, static in projections]
            per_instance_counts += [counts for *_, counts in group_args] + [readout_counts]
            for total, counts in zip(totals, per_instance_counts):
                total += counts.sum(axis=0)
        for d in dense:
            d.time_step += len(inputs)
        outs = [self._outs[g.name] for g in groups]
        self.sent = outs[0] if len(outs) == 1 else neurons.RecOut(
            *(np.concatenate([getattr(o, f) for o in outs], -1) for f in neurons.RecOut._fields))

    def _per_instance(self, counts: np.ndarray) -> np.ndarray:
        return np.zeros((self.n_instances,) + counts.shape, counts.dtype)

    def observe(self, names) -> dict:
        """Current values by name: neuron state ``u, v, b, r, f, q`` and sent ``z, y1, y2, y3``
        (groups concatenated), ``readout_v``, ``e``, ``err_y3``, and
        ``<projection>.<var>`` of a projection (``input->lif.weights``, ``.tag_1``,
        ``.tag_2``, ``.x1``, ...; only ``.weights`` and ``.a_buff`` without
        learning, the weights then broadcast to every instance)."""
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
                value = getattr(self.dense[proj], var)
                if not self.learn and var == "weights":
                    value = np.broadcast_to(value, (self.n_instances,) + value.shape)
                seen[name] = np.array(value)
        return seen
