"""The public Python API, re-exported at the package's top level (``import lava_eprop``).

The command line calls these functions. Lava, PyTorch and the training engines
are imported only when a function needs them, so ``import lava_eprop`` is quick.
Mistakes in the arguments raise :class:`~lava_eprop.errors.UserError` (a
``ValueError``) with a one-line message.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:                      # imported lazily below
    from compilers.plan import Plan
    from lava_eprop.config import Config
    from lava_eprop.deploy import Inference
    from lava_eprop.multirun import SeedRuns
    from lava_eprop.network_file import TrainedNetwork
    from lava_eprop.netx_export import NetxExport
    from lava_eprop.runs import TrainingRun


def load_config(config_or_preset, settings=()) -> Config:
    """Load a preset or a YAML config file and apply ``SECTION.KEY=VALUE`` settings.

    Parameters
    ----------
    config_or_preset : str, Path or Config
        A preset name (see :func:`presets`), the path of a YAML config
        (``docs/config.md``), or a config already loaded.
    settings : iterable of str
        Overrides as ``lava-eprop ... --set`` takes them, e.g.
        ``"training.iterations=50"``; each value is read as YAML.

    Returns
    -------
    Config
        The validated config: sections ``task``, ``network``, ``training``,
        ``fixed_point`` (read-only mappings with attribute access);
        ``to_dict()`` gives plain dicts.

    Examples
    --------
    >>> import lava_eprop
    >>> cfg = lava_eprop.load_config("pattern-generation", ["training.iterations=5"])
    >>> cfg.training.iterations, cfg.network.n_rec
    (5, 100)
    """
    from lava_eprop import config

    cfg = config_or_preset if isinstance(config_or_preset, config.Config) \
        else config.load(config_or_preset)
    if isinstance(settings, str):
        settings = [settings]
    return cfg.with_settings(settings) if settings else cfg


def presets() -> dict:
    """The built-in presets: name -> one-sentence description.

    Examples
    --------
    >>> import lava_eprop
    >>> list(lava_eprop.presets())
    ['pattern-generation', 'evidence-accumulation', 'store-recall']
    """
    from importlib import resources

    from lava_eprop.config import PRESETS

    out = {}
    for name in PRESETS:
        text = resources.files("lava_eprop").joinpath("presets", f"{name}.yaml").read_text()
        header = " ".join(line.lstrip("#").strip() for line in text.splitlines()
                          if line.startswith("#"))
        out[name] = re.split(r"(?<=\.)\s+(?=[A-Z])", header, maxsplit=1)[0]
    return out


def train(config, engine: str = "float", out_dir=None, *, seed: int | None = None,
          iterations: int | None = None, method: str | None = None, settings=(),
          init=None, chip_regime: bool = False, overflow: str = "count",
          checkpoint_every: int | None = None, resume=None, force: bool = False,
          progress: bool = True) -> TrainingRun:
    """Train a network; with ``out_dir``, write what ``lava-eprop train`` writes.

    Parameters
    ----------
    config : str, Path or Config
        A preset name, a YAML config path or a loaded config (:func:`load_config`).
    engine : {"float", "fixed", "lava"}
        ``float``: the NumPy float64 reference model; ``fixed``: on-chip online
        e-prop in the bit-exact fast engine; ``lava``: the same as Lava
        processes in ``Loihi2SimCfg`` (slow, bit-identical to ``fixed``).
    out_dir : str or Path, optional
        Write ``metrics.json``, ``network.npz``, ``loss.png``, ``raster.png``
        and ``readout.png`` here. A directory holding another run is refused
        unless ``force``. Without it nothing is written.
    seed, iterations, method : optional
        Replace ``training.seed``, ``training.iterations``, ``training.method``.
    settings : iterable of str
        ``SECTION.KEY=VALUE`` overrides, as :func:`load_config` takes them.
    init : str or Path, optional
        Start from this saved network's weights (a ``network.npz``).
    chip_regime : bool
        Train as the chip learns: one trial per iteration; with ``engine="float"``
        also per-trial SGD at the chip's learning rate in float units.
    overflow : {"count", "fatal"}
        ``engine="fixed"``: count saturation events, or stop at the first.
    checkpoint_every : int, optional
        Write ``out_dir/checkpoint.npz`` every that many iterations.
    resume : str or Path, optional
        Continue the run whose ``checkpoint.npz`` is in this directory.
    progress : bool
        Show a progress bar (on a terminal) with the latest loss and score.

    Returns
    -------
    TrainingRun
        ``metrics`` (the ``metrics.json`` dict: ``initial_``/``final_nmse`` or
        ``_accuracy``, ``loss_curve``, ``eval_curve``, ``seconds``...),
        ``weights``, ``network`` (saveable, runnable with :func:`run`),
        ``result`` (held-out recordings), ``out_dir``, ``files``, ``summary()``.

    Examples
    --------
    >>> import lava_eprop
    >>> run = lava_eprop.train("pattern-generation", iterations=3, progress=False)
    >>> sorted(k for k in run.metrics if k.endswith("nmse"))
    ['final_nmse', 'initial_nmse']
    >>> run.weights.w_rec.shape
    (100, 100)
    """
    from lava_eprop.runs import run_training

    cfg = load_config(config, settings).with_overrides(method=method, iterations=iterations,
                                                      seed=seed)
    return run_training(cfg, engine, None if out_dir is None else Path(out_dir),
                        progress=progress, checkpoint_every=checkpoint_every,
                        resume_dir=None if resume is None else Path(resume),
                        overflow=overflow, init=init, force=force, chip=chip_regime)


def train_seeds(config, engine: str = "float", out_dir=None, *, seeds=None, sweep=None,
                jobs: int | None = None, iterations: int | None = None,
                method: str | None = None, settings=(), init=None, chip_regime: bool = False,
                overflow: str = "count", checkpoint_every: int | None = None,
                resume: bool = False, force: bool = False, progress: bool = True) -> SeedRuns:
    """Train once per seed (and per value of one config key), each run exactly what
    :func:`train` with that ``seed`` makes, in parallel processes; summarise them.

    The runs are independent processes of a pool (the fast engine is
    compute-bound per process, so processes use every core), each with its
    share of the threads; the same code path as :func:`train` makes every run's
    weights and metrics identical to its single run's, on every engine.

    Parameters
    ----------
    config, engine, iterations, method, settings, init, chip_regime, overflow, \
checkpoint_every, force, progress
        As :func:`train` takes them, for every run.
    out_dir : str or Path, optional
        One run folder per run (``seed-0/`` ..., with a sweep ``KEY=VALUE/seed-0/``,
        each what :func:`train` writes), ``summary.json``, ``summary.png`` and
        ``instances.json`` (what was asked). Without it nothing is written.
    seeds : str or sequence of int, optional
        Distinct seeds, e.g. ``[0, 1, 2]`` or ``"0,1,2"`` (default: the config's
        ``training.seed``).
    sweep : str or (str, list), optional
        A config key and its values, ``"training.learning_rate=0.001,0.003"`` or
        ``("training.learning_rate", [0.001, 0.003])``: every seed runs with every
        value (as ``settings`` would set it).
    jobs : int, optional
        At most this many runs at once (default: the number of cores; fewer if
        their memory estimates do not fit at once).
    resume : bool
        Continue the runs in ``out_dir``: finished ones are kept, those with a
        ``checkpoint.npz`` continue from it (bit-identically), the others start
        afresh; the configs, seeds and options must be those of the first call.

    Returns
    -------
    SeedRuns
        ``runs`` (a :class:`~lava_eprop.runs.TrainingRun` per run, without the
        held-out recordings), ``instances`` (seed, swept value, folder name),
        ``summary`` (the ``summary.json`` document: per run the final metrics;
        per swept value, or once, each metric's ``mean``, ``std`` (sample, ddof=1),
        ``min``, ``max`` over the seeds), ``table()``, ``out_dir``, ``files``.

    Examples
    --------
    >>> import lava_eprop
    >>> runs = lava_eprop.train_seeds("pattern-generation", seeds=[0, 1], iterations=2,
    ...                               settings=["task.n_steps=100"], progress=False)
    >>> [run.metrics["seed"] for run in runs.runs]
    [0, 1]
    >>> stats = runs.summary["groups"][0]["stats"]["final_nmse"]
    >>> stats["min"] <= stats["mean"] <= stats["max"]
    True
    """
    from lava_eprop.multirun import parse_sweep, train_instances

    base = load_config(config, settings)
    if isinstance(sweep, str):
        sweep = parse_sweep(sweep)
    elif sweep is not None:
        key, values = sweep
        sweep = parse_sweep(f"{key}=" + ",".join(json.dumps(v) for v in values))
    if seeds is None:
        seeds = [base.training.seed]
    return train_instances(base, engine, seeds, sweep, None if out_dir is None else Path(out_dir),
                           jobs=jobs, overrides={"method": method, "iterations": iterations},
                           init=init, chip=chip_regime, overflow=overflow,
                           checkpoint_every=checkpoint_every, resume=resume, force=force,
                           progress=progress)


@dataclass
class QuantReport:
    """What :func:`quant_report` produced: ``report`` (the ``quant_report.json``
    document; ``report["metrics"]`` the flat values ``fail_over`` bounds check),
    ``probe`` (per model, the probe trial's spikes, membranes, readout and
    target), ``config``, ``out_dir`` and ``files`` (written, if any)."""

    report: dict
    probe: dict
    config: Config
    out_dir: Path | None = None
    files: tuple = ()

    @property
    def violations(self) -> list:
        """One line per ``fail_over`` bound the report violates."""
        return self.report["fail_over"]["violations"]

    @property
    def table(self) -> str:
        """The report as the plain-text tables ``lava-eprop quant-report`` prints."""
        from lava_eprop.quant.report import table
        return table(self.report)


def quant_report(config, out_dir=None, *, iterations: int = 10, batch_size: int = 1,
                 eval_trials: int = 16, seed: int | None = None, task: dict | None = None,
                 settings=(), fail_over: dict | None = None,
                 progress: bool = True) -> QuantReport:
    """The quantization error: the paper model, its fixed-point twin in float and the
    fixed-point network, on the same trials from the same weights.

    Parameters
    ----------
    config : str, Path or Config
        A preset name, a YAML config path or a loaded config.
    out_dir : str or Path, optional
        Write ``quant_report.json`` and the figures (``errors.png``,
        ``readouts.png``, ``rasters.png``, ``dw_cosine.png``, ``training.png``).
    iterations, batch_size : int
        Online training of each model: ``iterations`` x ``batch_size`` trials.
    eval_trials : int
        Held-out trials of the initial and final evaluations.
    seed : int, optional
        Seed of weights and trials (default: ``training.seed``).
    task : dict, optional
        Task keys to replace, e.g. ``{"delay": 100}`` for shorter trials (stated
        in the report's settings).
    settings : iterable of str
        ``SECTION.KEY=VALUE`` overrides, as :func:`load_config` takes them.
    fail_over : dict, optional
        Bounds ``{metric: value}`` on ``report["metrics"]`` (``lava-eprop
        quant-report --help`` lists them and which side is worse); those
        violated are listed in ``violations``.

    Examples
    --------
    >>> import lava_eprop
    >>> q = lava_eprop.quant_report("pattern-generation", iterations=1, eval_trials=1,
    ...                             task={"n_steps": 100}, progress=False)
    >>> 0 <= q.report["metrics"]["twin_vs_fixed.spike_agreement"] <= 1
    True
    """
    from lava_eprop.io import check_output_dir
    from lava_eprop.quant import metrics as qm
    from lava_eprop.quant import report as qr
    from lava_eprop.resources import check_memory, quant_report_estimate
    from lava_eprop.tasks import make_task

    if out_dir is not None:
        out_dir = Path(out_dir)
        check_output_dir(out_dir)
    task = dict(task or {})
    cfg = _with_task(load_config(config, settings), task)
    check_memory(quant_report_estimate(cfg, eval_trials))
    bounds = dict(fail_over or {})
    qm.check_names(bounds, make_task(cfg).kind)
    run_settings = qr.Settings(iterations=iterations, batch_size=batch_size,
                               eval_trials=eval_trials,
                               seed=cfg.training.seed if seed is None else seed,
                               task_overrides=task)
    report, probe = qr.quant_report(cfg, run_settings, progress=progress)
    report["fail_over"] = {"bounds": bounds,
                           "violations": qm.violations(report["metrics"], bounds, report["kind"])}
    result = QuantReport(report, probe, cfg)
    if out_dir is not None:
        result.files = tuple(qr.write_report(out_dir, report, probe, cfg.network.dt))
        result.out_dir = out_dir
    return result


def _with_task(cfg: Config, task: dict) -> Config:
    """``cfg`` with ``task`` keys replaced (validated)."""
    if not task:
        return cfg
    from lava_eprop.config import from_dict
    raw = cfg.to_dict()
    raw["task"].update(task)
    return from_dict(raw, source=cfg.source, base_dir=cfg.base_dir)


@dataclass
class RuleExport:
    """What :func:`export_rules` produced: the document ``text``, the compiler's
    ``warnings`` (one line each), the compiled ``plan`` and the file written (``path``,
    or None)."""

    text: str
    warnings: list
    plan: Plan
    path: Path | None = None

    @property
    def table(self) -> str:
        """The plan as the readable table ``lava-eprop show-rule`` prints."""
        from compilers.export import show
        return show(self.plan)

    def learning_rules(self, rng_seed: int | None = None) -> dict:
        """Lava ``Loihi3FLearningRule`` objects, by projection name (``input->lif``...)."""
        return {p.name: p.learning_rule(rng_seed) for p in self.plan.projections}


def export_rules(config, path=None, *, fmt: str = "yaml", settings=()) -> RuleExport:
    """Compile e-prop into Loihi 2 learning rules and fixed-point parameters.

    Parameters
    ----------
    config : str, Path or Config
        A preset name, a YAML config path or a loaded config.
    path : str or Path, optional
        Write the versioned document here (atomically); :func:`load_rules`
        reads it back into Lava.
    fmt : {"yaml", "json"}
        The document's format (same content).
    settings : iterable of str
        ``SECTION.KEY=VALUE`` overrides, as :func:`load_config` takes them.

    Examples
    --------
    >>> import lava_eprop
    >>> rules = lava_eprop.export_rules("pattern-generation")
    >>> [p.name for p in rules.plan.projections]
    ['input->lif', 'recurrent->lif', 'recurrent->readout']
    """
    from compilers.export import compile_config, export_plan

    plan, messages = compile_config(load_config(config, settings))
    text = export_plan(plan, fmt, path)
    return RuleExport(text, messages, plan, None if path is None else Path(path))


def load_rules(path, rng_seed: int | None = None) -> dict:
    """Lava ``Loihi3FLearningRule`` objects of a file :func:`export_rules` wrote, by
    projection name; refuses an edited, inconsistent file.

    Examples
    --------
    >>> import lava_eprop, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.yaml"
    >>> _ = lava_eprop.export_rules("pattern-generation", path)
    >>> sorted(lava_eprop.load_rules(path))
    ['input->lif', 'recurrent->lif', 'recurrent->readout']
    """
    from compilers import load_rules as load

    return load(path, rng_seed)


def load_network(path) -> TrainedNetwork:
    """Read a trained network (``network.npz``), checked member by member.

    Returns
    -------
    TrainedNetwork
        ``config``, ``weights`` (``w_in``, ``w_rec``, ``w_out``, ``b_out``,
        ``fb``), ``engine`` it was trained with.

    Examples
    --------
    >>> import lava_eprop
    >>> net = lava_eprop.load_network("runs/pg/network.npz")   # doctest: +SKIP
    >>> net.config.task.name                                   # doctest: +SKIP
    'pattern-generation'
    """
    from lava_eprop.network_file import load_network as load

    return load(path)


def run(network, inputs, out_dir=None, *, targets=None, hardware: bool = False,
        compare: bool = True) -> Inference:
    """Run a trained network on input spikes with learning off, as Lava processes
    (fixed-point models; ``Loihi2SimCfg``, or Loihi 2 with ``hardware``).

    Parameters
    ----------
    network : str, Path or TrainedNetwork
        A ``network.npz`` or a network (``TrainingRun.network``,
        :func:`load_network`).
    inputs : str, Path or ndarray
        0/1 spikes ``[trials, T, n_in]``, or an ``.npz`` holding them as
        ``inputs`` (and, optionally, ``targets``).
    out_dir : str or Path, optional
        Write ``outputs.npz`` and ``summary.json`` here.
    targets : ndarray, optional
        Class labels ``[trials]`` or signals ``[trials, T, n_out]``; with them
        (or an inputs file holding them) the result has a ``score``.
    compare : bool
        Also run the fast engine and record whether its integers are identical
        (``summary["fast_engine_identical"]``).

    Returns
    -------
    Inference
        ``z`` spikes, ``readout`` (float) and ``readout_v`` (registers)
        ``[trials, T, ...]``, ``summary``, ``score`` (``{"accuracy": ...}`` or
        ``{"nmse": ...}``, or None).

    Examples
    --------
    >>> import lava_eprop, numpy as np
    >>> trained = lava_eprop.train("pattern-generation", engine="fixed", iterations=2,
    ...                            progress=False)                   # doctest: +SKIP
    >>> x = np.random.default_rng(0).random((1, 50, 100)) < 0.05    # doctest: +SKIP
    >>> lava_eprop.run(trained.network, x).summary["fast_engine_identical"]  # doctest: +SKIP
    True
    """
    import numpy as np

    from lava_eprop.deploy import run_inference
    from lava_eprop.errors import UserError
    from lava_eprop.inference import check_targets, load_inputs, load_targets

    net = network if hasattr(network, "weights") else load_network(network)
    n_in, n_out = net.weights.w_in.shape[1], net.weights.w_out.shape[0]
    if isinstance(inputs, (str, Path)):
        x = load_inputs(inputs, n_in, len(net.weights.w_rec), n_out)
        if targets is None:
            targets = load_targets(inputs, x.shape[0], x.shape[1], n_out)
    else:
        x = np.asarray(inputs)
        if x.ndim != 3 or x.shape[2] != n_in or not np.all((x == 0) | (x == 1)):
            raise UserError(f"inputs must be 0/1 spikes [trials, T, {n_in}], got "
                            f"{x.dtype} {list(x.shape)}")
        x = x.astype(np.int64)
    if targets is not None:
        targets = check_targets(np.asarray(targets), *x.shape[:2], n_out, "targets")
    label = str(network) if isinstance(network, (str, Path)) else "<network>"
    return run_inference(net, label, x, None if out_dir is None else Path(out_dir),
                         hardware=hardware, compare=compare, targets=targets)


def export_netx(network, path) -> NetxExport:
    """Write a trained LIF network as a netx HDF5 file for ``lava.lib.dl.netx``.

    Layers: input, ``dense_rec`` (CUBA LIF), ``dense`` readout. ALIF neurons and
    refractory periods are refused. What differs from the product's own
    inference (netx resets v to 0; weight exponents folded into register
    scales) is listed in the result's ``notes``.

    Examples
    --------
    >>> import lava_eprop
    >>> export = lava_eprop.export_netx("runs/pg/network.npz", "runs/pg/network.h5")  # doctest: +SKIP
    >>> export.notes                                                                   # doctest: +SKIP
    """
    from lava_eprop.inference import integer_spec
    from lava_eprop.netx_export import write_netx

    net = network if hasattr(network, "weights") else load_network(network)
    return write_netx(path, integer_spec(net))


def run_netx(path, inputs) -> dict:
    """Run 0/1 ``inputs`` [trials, T, n_in] through a file :func:`export_netx` wrote,
    with lava-dl's netx in ``Loihi2SimCfg`` (fixed point): ``z`` [trials, T, n_rec]
    spikes, ``readout_v`` the readout voltage, ``y`` the readout in the network's units.
    """
    import numpy as np

    from lava_eprop.netx_run import run_netx as run_file

    return run_file(path, np.asarray(inputs))
