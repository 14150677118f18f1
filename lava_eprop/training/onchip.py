"""On-chip (fixed-point, online) e-prop training: the fast engine or the Lava graph.

Each iteration runs ``training.batch_size`` trials one after another through
the integer network of :mod:`lava_eprop.engine.spec`; the weights learn
online every step by the compiled rules (learning rate and SGD as the plan
notes; of the float optimiser settings only the learning-rate schedule,
``training.lr_decay`` every ``training.lr_decay_every`` iterations, applies). Every trial starts from
the current weights with zero neuron state, traces and tags, and rule seed
``training.seed + trial``: the ``fixed`` engine (:class:`FastNetwork`) and
the ``lava`` engine (:class:`LavaGraph`, one Lava run per trial) therefore
train bit-identically. With symmetric feedback the host copies the learned
readout weights into B before every trial (B = W_out^T as e-prop's symmetric
variant wants; random and adaptive feedback keep B fixed). The firing-rate
regulariser (``training.reg_coeff``) runs in the neurons
(:func:`lava_eprop.engine.spec.reg_params`), scaled to the chip's per-trial,
per-step error as :func:`lava_eprop.engine.spec.error_steps` says. With a
learning-rate schedule (``training.lr_decay`` < 1) the host scales each
trial's weight change by the schedule's factor (:func:`scale_trial_change`).
After every trial the host moves
odd weights to the even grid that ``LearningDense`` truncates to at the start
of a run (:func:`onto_weight_grid`), so the truncation does not bias them, and
without self connections sets the recurrent diagonal, which a
``LearningDense`` learns like every synapse, back to 0 (:func:`after_trial`).

Losses are the float reference's (:func:`lava_eprop.reference.network.loss_terms`,
task term only) on the readout ``y = v / (Q_out 64)``. Held-out evaluation
runs the fast engine without learning (``FastNetwork(learn=False)``: plain
``Dense`` projections, as ``LavaGraph(learn=False)``), ``EVAL_CHUNK`` trials
at a time (:func:`_evaluate`): the weights are frozen, not merely driven by a
masked error (a received ``y3 = 64`` may act as 63 and move weights by 1).
"""
from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from compilers import compile_plan
from lava_eprop import config
from lava_eprop.checkpoint import TrainState
from lava_eprop.engine.network import READOUT, FastNetwork
from lava_eprop.engine.spec import NetworkSpec, error_steps, network_spec
from lava_eprop.errors import NumericalError, UserError
from lava_eprop.initial import INIT_WITH_RESUME, check_initial
from lava_eprop.reference.network import Record, loss_terms, task_loss
from lava_eprop.reference.params import Weights, init_weights
from lava_eprop.resources import EVAL_CHUNK
from lava_eprop.training.common import (
    Evaluation,
    TrainResult,
    check_evaluation,
    iteration_bar,
    lr_factor,
    score,
    show_progress,
)

ENGINES = ("fixed", "lava")
OVERFLOW = ("count", "fatal")
_RECORD = ("z", "v", "b", "y2", "readout_v")
GRID = 0x6E1D            # stream of onto_weight_grid's draws, keyed by (seed, trial, GRID)
SCHEDULE = 0x5CED        # stream of scale_trial_change's draws, keyed by (seed, trial, SCHEDULE)


def onto_weight_grid(weights: dict, rng: np.random.Generator) -> dict:
    """Odd weights moved to an even neighbour, up or down with probability 1/2 each.

    Lava's ``LearningDense`` keeps learned weights at full 8-bit + sign
    resolution within a run but truncates mixed-sign weights to 7 bits + sign
    (``(w >> 1) << 1``, a floor) on the first step of a run. Each trial is a
    new run, so without this step every odd weight would lose a unit per
    trial, always downwards. Rounding them stochastically first makes the
    truncation a no-op and the grid change unbiased. Range: ``[-256, 254]``,
    what the truncation produces.
    """
    out = {}
    for name, w in weights.items():
        w = np.asarray(w, np.int64)
        step = np.where(rng.random(w.shape) < 0.5, 1, -1)
        out[name] = np.clip(w + (w & 1) * step, -256, 254)
    return out


def chip_regime(cfg, task, engine: str):
    """``cfg`` as the chip learns: one trial per iteration, and for the float
    engine SGD at the chip's learning rate in the float loss's units, per
    trial (``training.update: batch``) or every step as on chip
    (``training.update: online``; the config's choice is kept).

    The chip changes its weights online by the per-step error of one trial
    (:func:`lava_eprop.engine.spec.error_steps`), where the float
    classification loss averages the error over the ``n_err`` error steps of
    a trial; its learning rate ``fixed_point.learning_rate`` (default
    ``training.learning_rate``) therefore corresponds to the float rate
    ``eta n_err`` (classification; ``eta`` for regression). The schedule
    (``training.lr_decay`` every ``lr_decay_every`` iterations), the seed and
    hence the trials and the held-out set stay the config's, so the float
    run is the chip run's baseline on the same trials.
    """
    raw = cfg.to_dict()
    raw["training"]["batch_size"] = 1
    if engine == "float":
        eta = cfg.fixed_point.learning_rate or cfg.training.learning_rate
        held = task.held_out(1, cfg.training.seed)
        n_err = error_steps(held.mask, task.kind == "classification")
        raw["training"].update(optimizer="sgd", learning_rate=eta * n_err)
        raw["fixed_point"]["learning_rate"] = eta
    return config.from_dict(raw, source=cfg.source, base_dir=cfg.base_dir)


def scale_trial_change(before: dict, after: dict, factor: float, seed: int,
                       trial: int) -> dict:
    """The host's learning-rate schedule: ``before + SR(factor * (after - before))``.

    The chip's rule coefficients sit at or near the smallest scale Lava's
    rules can write (``2^-7``), so a decaying learning rate cannot shrink
    them without shrinking the tag's or the readout trace's resolution. The
    host instead scales each trial's weight change by ``factor``
    (:func:`lava_eprop.training.common.lr_factor`, the float optimiser's
    schedule) when it reads the weights between trials, as it does for the
    even grid: ``SR`` rounds stochastically, up with probability equal to the
    fraction (key ``[seed, trial, SCHEDULE]``), so the expected change is
    exactly ``factor`` times the chip's. Within the trial the weights move
    at the full rate. ``factor == 1`` returns ``after`` unchanged.
    """
    if factor == 1.0:
        return after
    rng = np.random.default_rng([seed, trial, SCHEDULE])
    out = {}
    for name, w in after.items():
        old = np.asarray(before[name], np.int64)
        change = factor * (np.asarray(w, np.int64) - old)
        low = np.floor(change)
        out[name] = old + low.astype(np.int64) + (rng.random(change.shape) < change - low)
    return out


def grid_before_training(spec: NetworkSpec, seed: int) -> dict:
    """The initial integer weights on the even grid (:func:`onto_weight_grid`, key
    ``[seed, GRID]``): what the first on-chip trial starts from."""
    return onto_weight_grid({name: p.weights for name, p in spec.projections.items()},
                            np.random.default_rng([seed, GRID]))


def grid_after_trial(weights: dict, seed: int, trial: int) -> dict:
    """Trial ``trial``'s learned weights on the even grid (key ``[seed, trial, GRID]``),
    ready for the next run."""
    return onto_weight_grid(weights, np.random.default_rng([seed, trial, GRID]))


def zero_autapses(spec: NetworkSpec, weights: dict) -> dict:
    """``weights`` with every recurrent neuron's synapse onto itself set to 0.

    A ``LearningDense`` updates every synapse, so on chip the recurrent
    diagonal learns within a trial even when the float model has no autapses
    (``network.self_connections: false``); the host sets it back to 0 after
    every trial, as the float model's masked gradient keeps it. Arrays are
    ``[..., n_post, n_pre]`` (integer or float); the others are returned as
    they are.
    """
    out = dict(weights)
    for g in spec.groups:
        name = f"recurrent->{g.name}"
        w = np.array(out[name], copy=True)
        j = np.arange(g.size)
        w[..., j, g.offset + j] = 0
        out[name] = w
    return out


def after_trial(spec: NetworkSpec, weights: dict, seed: int, trial: int,
                self_connections: bool) -> dict:
    """What the host does to the learned integer weights between trials: onto the
    even grid (:func:`grid_after_trial`), then, without self connections
    (``network.self_connections``), the recurrent diagonal back to 0
    (:func:`zero_autapses`)."""
    weights = grid_after_trial(weights, seed, trial)
    return weights if self_connections else zero_autapses(spec, weights)


def trial_feedback(spec: NetworkSpec, weights: dict, symmetric: bool) -> NetworkSpec:
    """``spec`` with the feedback a trial uses: ``B = W_out^T`` of the current readout
    weights for symmetric feedback (the host copies it between trials), else as it is."""
    return spec.with_symmetric_feedback(weights[READOUT]) if symmetric else spec


def _add_counts(result: TrainResult, counts: dict, overflow: str, it: int, trial: int) -> None:
    """Sum a trial's saturation counts into ``result``; raise if fatal and any happened."""
    result.saturation.update(counts)
    hit = {name: n for name, n in counts.items() if n}
    if overflow == "fatal" and hit:
        listed = ", ".join(f"{name} {n}" for name, n in sorted(hit.items()))
        raise NumericalError(f"fixed-point saturation or wrap-around in iteration {it + 1} "
                             f"(trial {trial}): {listed} events (--overflow fatal; the last "
                             "checkpoint stays valid)")


def _record(spec: NetworkSpec, trace: dict) -> Record:
    """Float view [B, T, ...] of recorded integer traces [T, B, ...]: ``y`` the readout,
    ``v`` and ``a`` (the adaptation b) in units of the threshold, ``psi`` holds y2."""
    v_unit = 2.0 ** 6 * np.concatenate([np.broadcast_to(g.rec.vth, g.size)
                                        for g in spec.groups])   # register units per threshold
    per = {k: np.moveaxis(np.asarray(v, float), 0, 1) for k, v in trace.items()}
    y = per["readout_v"] / (spec.readout_scale * 64)
    return Record(z=per["z"], v=per["v"] / v_unit, a=per["b"] / v_unit, psi=per["y2"], y=y)


def _run_fixed(spec, inputs, targets, mask, seed, learn=True, counts=None, record=_RECORD):
    net = FastNetwork(spec, n_instances=len(inputs), seed=seed, learn=learn)
    ints = spec.targets(targets, inputs.shape[1])
    trace = net.run(inputs.astype(np.int64), ints, mask.astype(np.int64), record=record)
    if counts is not None:
        counts.update(net.counters)
    return trace, {name: d.weights[0] for name, d in net.dense.items()}


def _run_lava(spec, inputs, targets, mask, seed, counts=None):
    from lava_eprop.lava_graph import LavaGraph
    graph = LavaGraph(spec, inputs[0].astype(np.int64), spec.targets(targets[0], inputs.shape[1]),
                      mask[0].astype(np.int64), seed=seed)
    trace = graph.run(record=_RECORD)
    weights = {k: np.asarray(w).astype(np.int64) for k, w in graph.final_weights.items()}
    return {k: v.reshape(v.shape[0], 1, -1) for k, v in trace.items()}, weights


def _evaluate(spec, task, batch, cfg, chunk: int = EVAL_CHUNK) -> Evaluation:
    """Task loss and score of the frozen network on ``batch``, simulated ``chunk``
    trials at a time, keeping of each its spikes (as bool) and readout ``y`` (the
    record's other fields are None).

    Without learning the fast engine's instances do not interact, and the loss
    and score are computed once over all trials, so the result is that of
    simulating all trials at once, to the bit.
    """
    n_trials, n_steps, _ = batch.inputs.shape
    z = np.empty((n_trials, n_steps, spec.n_rec), bool)
    y = np.empty((n_trials, n_steps, spec.n_out))
    for start in range(0, n_trials, chunk):
        part = slice(start, start + chunk)
        trace, _ = _run_fixed(spec, batch.inputs[part], batch.targets[part], batch.mask[part],
                              cfg.training.seed, learn=False, record=("z", "readout_v"))
        z[part] = np.moveaxis(trace["z"], 0, 1)
        y[part] = np.moveaxis(trace["readout_v"], 0, 1) / (spec.readout_scale * 64)
    rec = Record(z=z, v=None, a=None, psi=None, y=y)
    return score(rec, batch, task.kind, task_loss(y, batch.targets, batch.mask, task.kind)[0])


def float_weights(spec: NetworkSpec, weights: dict, b_out) -> Weights:
    """The integer weights as float weights of the reference model."""
    def w(name):
        return np.asarray(weights[name], float) / spec.projection(name).plan.weight_per_unit

    return Weights(w_in=np.concatenate([w(f"input->{g.name}") for g in spec.groups]),
                   w_rec=np.concatenate([w(f"recurrent->{g.name}") for g in spec.groups]),
                   w_out=w("recurrent->readout"), b_out=np.asarray(b_out, float),
                   fb=spec.feedback.astype(float) / 2.0 ** spec.feedback_exp)


def resumed_integer_weights(resume: TrainState, weights: dict, feedback: np.ndarray) -> dict:
    """The checkpoint's integer weights and feedback (``iw/``) if they have the names and
    shapes of this network's (``weights``, ``feedback``) and lie in range (weights
    ``[-256, 254]``, the grid :func:`onto_weight_grid` keeps; feedback ``|B| <= 255``)."""
    got = resume.integer_weights
    want = {**weights, "feedback": feedback}
    if set(got) != set(want):
        raise UserError(f"--resume: the checkpoint's integer weights are iw/{sorted(got)}, "
                        f"this network's iw/{sorted(want)} (not a checkpoint of this run)")
    for name, w in want.items():
        lo, hi = (-255, 255) if name == "feedback" else (-256, 254)
        a = got[name]
        if a.shape != np.shape(w) or a.size and not lo <= a.min() <= a.max() <= hi:
            raise UserError(f"--resume: the checkpoint's iw/{name} must be integers in "
                            f"{lo}..{hi} of shape {list(np.shape(w))}, got {a.dtype} "
                            f"{list(a.shape)} (not a checkpoint of this run)")
    return {name: np.asarray(a, np.int64) for name, a in got.items()}


def train_fixed(cfg, task, engine: str = "fixed", progress: bool | Callable = True,
                checkpoint: Callable[[TrainState], None] | None = None,
                checkpoint_every: int | None = None,
                resume: TrainState | None = None, overflow: str = "count",
                initial: Weights | None = None) -> TrainResult:
    """Train on chip as ``cfg`` says with the ``fixed`` (fast) or ``lava`` engine.

    The float initial weights, random or ``initial`` (:mod:`lava_eprop.initial`),
    become integers as the plan says (:func:`~lava_eprop.engine.spec.network_spec`),
    then move onto the even grid (:func:`grid_before_training`).
    A task whose inputs are not all 0/1 spikes (a dataset's) is refused
    (:meth:`~lava_eprop.tasks.Task.check_spikes`): on chip an input is a spike or none.

    The ``fixed`` engine counts every saturation and wrap-around of the
    training trials (:attr:`FastNetwork.counters`) into ``result.saturation``
    (after ``resume``: added to the checkpoint's, so they count the whole run;
    a ``lava`` checkpoint holds none); ``overflow="fatal"`` stops at the
    first trial with any event, raising :class:`NumericalError` that names the
    iteration, the trial and the variables (the last checkpoint, written at an
    earlier iteration's end, stays valid).

    Every ``checkpoint_every`` iterations ``checkpoint`` receives the run's
    :class:`~lava_eprop.checkpoint.TrainState`: the integer weights and the
    feedback B in use (``feedback``; symmetric B follows W_out between trials),
    the saturation counts so far (``fixed``), the random generator (which fixes
    the data position), the curves. As every
    trial starts from zero neuron state, traces and tags, and trial ``k`` uses
    rule seed ``training.seed + k`` (``k`` = iterations done times batch size),
    that is the whole state between iterations: passing it as ``resume``
    continues bit-identically (its initial weights are the checkpoint's).
    """
    if initial is not None and resume is not None:
        raise UserError(INIT_WITH_RESUME)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if overflow not in OVERFLOW or (overflow == "fatal" and engine != "fixed"):
        raise ValueError(f"overflow must be one of {OVERFLOW} ('fatal' with the counting "
                         f"fixed engine), got {overflow!r} with engine {engine!r}")
    t = cfg.training
    if t.method != "eprop":
        raise UserError(f"--method {t.method} with --engine {engine}: on-chip training is "
                        "e-prop (allowed: --method eprop, or --engine float)")
    task.check_spikes(f"--engine {engine}")
    rng = np.random.default_rng(t.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(cfg)
    w0 = init_weights(cfg, task.n_in, task.n_out, rng)   # drawn even with `initial`
    if resume is not None:
        w0 = resume.initial_weights
    elif initial is not None:
        w0 = check_initial(initial, cfg, task.n_in, task.n_out)
    held = task.held_out(t.eval_trials, t.seed)
    classification = task.kind == "classification"
    spec = network_spec(cfg, plan, w0, task.n_in, task.n_out, classification,
                        n_steps=task.n_steps, n_err=error_steps(held.mask, classification))
    symmetric = t.feedback == "symmetric"
    weights = grid_before_training(spec, t.seed)
    spec = spec.with_weights(weights)
    result = TrainResult(weights=None, initial_weights=w0,
                         initial=check_evaluation(_evaluate(spec, task, held, cfg),
                                                  "before training"), final=None,
                         saturation=Counter() if engine == "fixed" else None)
    first = 0
    if resume is not None:
        weights = resumed_integer_weights(resume, weights, spec.feedback)
        first, spec = resume.iteration, replace(spec, feedback=weights.pop("feedback"))
        if result.saturation is not None and resume.saturation is not None:
            result.saturation.update(resume.saturation)
        rng.bit_generator.state = resume.rng_state
        result.loss_curve, result.eval_curve = list(resume.loss_curve), list(resume.eval_curve)
        result.steps_simulated, result.seconds = resume.steps_simulated, resume.seconds
    task.seek(first * t.batch_size)
    run = _run_fixed if engine == "fixed" else _run_lava
    start = time.perf_counter() - result.seconds
    trial = first * t.batch_size
    bar = iteration_bar(progress, first, t.iterations, f"train {task.name} ({engine})")
    for it in bar:
        loss = 0.0
        for _ in range(t.batch_size):
            batch = task.sample(1, rng)
            spec = trial_feedback(spec, weights, symmetric)
            counts = {} if engine == "fixed" else None
            before = weights
            trace, weights = run(spec.with_weights(weights), batch.inputs, batch.targets,
                                 batch.mask, t.seed + trial, counts=counts)
            if counts is not None:
                _add_counts(result, counts, overflow, it, trial)
            weights = scale_trial_change(before, weights, lr_factor(t, it), t.seed, trial)
            weights = after_trial(spec, weights, t.seed, trial, cfg.network.self_connections)
            trial += 1
            rec = _record(spec, trace)
            loss += loss_terms(rec, batch.targets, batch.mask, task.kind, 0.0, t.reg_rate_hz,
                               cfg.network.dt).task / t.batch_size
            result.steps_simulated += batch.inputs.shape[1]
        result.loss_curve.append(loss)
        if t.eval_every and (it + 1) % t.eval_every == 0:
            ev = check_evaluation(_evaluate(spec.with_weights(weights), task, held, cfg),
                                  f"iteration {it}")
            result.eval_curve.append([it + 1, ev.loss, ev.nmse if ev.nmse is not None
                                      else ev.accuracy])
        show_progress(bar, loss, result, task.kind)
        if checkpoint is not None and checkpoint_every and (it + 1) % checkpoint_every == 0:
            checkpoint(TrainState(
                iteration=it + 1, weights=float_weights(spec, weights, w0.b_out),
                initial_weights=w0, optimizer={}, rng_state=rng.bit_generator.state,
                loss_curve=result.loss_curve, eval_curve=result.eval_curve,
                steps_simulated=result.steps_simulated, seconds=time.perf_counter() - start,
                engine=engine, integer_weights={**weights, "feedback": spec.feedback},
                saturation=None if result.saturation is None else dict(result.saturation)))
    result.seconds = time.perf_counter() - start
    spec = spec.with_weights(weights)
    result.final = check_evaluation(_evaluate(spec, task, held, cfg), "after training")
    result.weights = float_weights(spec, weights, w0.b_out)
    return result
