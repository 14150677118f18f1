"""Many training runs of one config at once: a list of seeds, optionally crossed
with the values of one config key (``lava-eprop train --seeds``, ``--sweep``;
:func:`lava_eprop.train_seeds`).

Every instance is exactly the run ``lava-eprop train CONFIG --seed S [--set
KEY=VALUE]`` makes (:func:`lava_eprop.runs.run_training`, the same code path),
so its weights and metrics are those of that single run, on every engine. The
instances run as independent processes of a pool ('spawn' start method, which
is safe with numba and Lava), each with its share of the cores' threads:
the fast engine's instance loop is compute-bound (running many instances in
one process gives at most 10% more network-steps/s than one), so separate
processes use every core while keeping each instance bit-identical to its
single run.

``out_dir`` gets one run folder per instance (``seed-0/``, or
``KEY=VALUE/seed-0/`` with a sweep), ``instances.json`` (what was asked, for
``resume``), ``summary.json`` (:func:`summarise`) and ``summary.png``.
"""
from __future__ import annotations

import functools
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lava_eprop.config import Config, from_dict, save_yaml
from lava_eprop.errors import UserError

SEED_MAX = 2**32 - 1
PLAN_NAME = "instances.json"
SUMMARY_FILES = ("summary.json", "summary.png")
#: scalar metrics of metrics.json summarised over the instances (those a task has)
SUMMARY_METRICS = ("initial_loss", "final_loss", "initial_nmse", "final_nmse",
                   "initial_accuracy", "final_accuracy", "mean_rate_hz", "saturation_total",
                   "seconds", "steps_per_second")
_SEEDS_ALLOWED = (f"allowed: distinct integers 0..{SEED_MAX} separated by commas, e.g. "
                  "--seeds 0,1,2")


def parse_seeds(seeds) -> list[int]:
    """``"0,1,2"`` (or a sequence of ints) -> ``[0, 1, 2]``; a one-line
    :class:`UserError` for an empty list, a non-integer, a negative or too large
    seed, or a repeated one."""
    items = [s.strip() for s in seeds.split(",")] if isinstance(seeds, str) else list(seeds)
    if not items or items == [""]:
        raise UserError(f"--seeds is empty ({_SEEDS_ALLOWED})")
    out = []
    for item in items:
        if isinstance(item, bool) or not (isinstance(item, int)
                                          or re.fullmatch(r"[+-]?\d+", str(item))):
            raise UserError(f"--seeds: {str(item)!r} is not an integer ({_SEEDS_ALLOWED})")
        seed = int(item)
        if not 0 <= seed <= SEED_MAX:
            raise UserError(f"--seeds: {seed} is {'negative' if seed < 0 else 'too large'} "
                            f"({_SEEDS_ALLOWED})")
        if seed in out:
            raise UserError(f"--seeds: seed {seed} appears twice ({_SEEDS_ALLOWED})")
        out.append(seed)
    return out


def parse_sweep(text: str) -> tuple[str, list]:
    """``"training.learning_rate=0.001,0.003"`` -> ``("training.learning_rate",
    [0.001, 0.003])``, each value read as YAML (scalars only); one-line
    :class:`UserError` when malformed."""
    from lava_eprop.loaders import parse_yaml

    allowed = ("allowed: SECTION.KEY=V1,V2,... with distinct scalar values, e.g. --sweep "
               "training.learning_rate=0.001,0.003")
    key, sep, values = str(text).partition("=")
    key = key.strip()
    if not sep or key.count(".") != 1 or not all(key.split(".")):
        raise UserError(f"--sweep {text!r} is malformed ({allowed})")
    if key == "training.seed":
        raise UserError("--sweep training.seed: use --seeds for seeds (allowed: --sweep over "
                        "another key)")
    out = []
    for item in values.split(","):
        if not item.strip():
            raise UserError(f"--sweep {text!r}: an empty value ({allowed})")
        try:
            value = parse_yaml(item, f"--sweep value {item!r}")
        except UserError:
            raise UserError(f"--sweep {text!r}: cannot read {item.strip()!r} ({allowed})") \
                from None
        if isinstance(value, (list, dict)) or value is None:
            raise UserError(f"--sweep {text!r}: {item.strip()!r} is not a scalar ({allowed})")
        if value in out:
            raise UserError(f"--sweep {text!r}: {item.strip()!r} appears twice ({allowed})")
        out.append(value)
    return key, out


@dataclass(frozen=True)
class Instance:
    """One run of a multi-run: its seed, the swept key's value (or None) and its folder."""

    seed: int
    value: Any = None
    sweep_key: str | None = None

    @property
    def name(self) -> str:
        """The folder, relative to the multi-run's ``out_dir``."""
        seed = f"seed-{self.seed}"
        return seed if self.sweep_key is None else f"{self.sweep_key}={self.value}/{seed}"


def _instance_config(base: Config, inst: Instance, overrides: dict) -> Config:
    """What ``train CONFIG [--set ...] --set KEY=VALUE --seed S`` would train."""
    cfg = base
    if inst.sweep_key is not None:
        cfg = cfg.with_settings([f"{inst.sweep_key}={json.dumps(inst.value)}"])
    return cfg.with_overrides(**overrides, seed=inst.seed)


@dataclass
class SeedRuns:
    """What :func:`lava_eprop.train_seeds` produced.

    Attributes
    ----------
    runs : list of TrainingRun
        One per instance, in the order seeds (within each swept value); each
        has the ``metrics``, ``network`` and ``out_dir`` of its single run
        (``result``, the held-out recordings, stays in the worker: None).
    instances : list of Instance
        ``seed``, ``value`` (of the swept key, or None) and ``name`` (folder).
    summary : dict
        The ``summary.json`` document (:func:`summarise`).
    out_dir : Path or None
        Where the files were written; None when nothing was.
    files : tuple of str
        Files and folders written into ``out_dir``.
    """

    runs: list
    instances: list
    summary: dict
    out_dir: Path | None = None
    files: tuple = ()

    def table(self) -> str:
        """The console report: each instance's held-out result, then mean ± std
        (per swept value) and where the files are."""
        s = self.summary
        score = s["score"]
        label = "NMSE" if score == "final_nmse" else "accuracy"
        lines = [(f"{s['task']} ({s['engine']}, {s['method']}): {len(self.runs)} runs of "
                  f"{s['iterations']} iterations")]
        key = s["sweep"]["key"] if s["sweep"] else None
        head = ([key] if key else []) + ["seed", f"held-out {label}", "before training"]
        rows = [([str(i["value"])] if key else []) + [str(i["seed"]), f"{i[score]:.4g}",
                                                      f"{i['initial_' + score[6:]]:.4g}"]
                for i in s["instances"]]
        widths = [max(len(r[c]) for r in [head, *rows]) for c in range(len(head))]
        lines += ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
                  for r in [head, *rows]]
        for group in s["groups"]:
            st = group["stats"][score]
            where = f"{key}={group['value']}: " if key else ""
            lines.append(f"{where}{label} {st['mean']:.4g} ± {st['std']:.2g} (mean ± sample "
                         f"std over {st['n']} seeds; min {st['min']:.4g}, max "
                         f"{st['max']:.4g})")
        if self.out_dir is None:
            return "\n".join(lines + ["no files written (no out_dir)"])
        return "\n".join(lines + [f"files in {self.out_dir}: {', '.join(self.files)}"])

    def summary_json(self) -> dict:
        """``summary.json`` plus ``out_dir`` and ``files``: what ``train --seeds --json``
        prints as one line."""
        return {**self.summary, "out_dir": None if self.out_dir is None else str(self.out_dir),
                "files": list(self.files)}


def _finals(metrics: dict) -> dict:
    """The scalar end-of-run metrics :data:`SUMMARY_METRICS` of one run."""
    flat = dict(metrics)
    if isinstance(metrics.get("saturation"), dict):
        flat["saturation_total"] = metrics["saturation"]["total"]
    return {k: flat[k] for k in SUMMARY_METRICS if flat.get(k) is not None}


def spread(values) -> dict:
    """``mean``, ``std`` (sample standard deviation, ``ddof=1``; 0 for one value),
    ``min``, ``max`` and ``n`` of ``values``."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
            "min": float(x.min()), "max": float(x.max()), "n": int(x.size)}


def summarise(instances: list, metrics: list, sweep: tuple | None) -> dict:
    """The ``summary.json`` document of a multi-run.

    ``instances`` lists per instance its ``name``, ``seed`` (``value`` with a
    sweep) and the scalar end-of-run metrics of its ``metrics.json``
    (:data:`SUMMARY_METRICS` that the task has); ``groups`` lists per swept
    value (one group without a sweep) the ``stats`` of each such metric over
    its seeds: :func:`spread`. ``score`` names the held-out score
    (``final_nmse`` or ``final_accuracy``).
    """
    first = metrics[0]
    rows = []
    for inst, m in zip(instances, metrics):
        row = {"name": inst.name, "seed": inst.seed}
        if sweep is not None:
            row["value"] = inst.value
        rows.append({**row, **_finals(m)})
    groups = []
    for value in (sweep[1] if sweep is not None else [None]):
        members = [r for r in rows if sweep is None or r["value"] == value]
        names = [k for k in SUMMARY_METRICS if all(k in r for r in members)]
        group = {"value": value} if sweep is not None else {}
        groups.append({**group, "stats": {k: spread([r[k] for r in members]) for k in names}})
    return {"task": first["task"], "engine": first["engine"], "method": first["method"],
            "iterations": first["iterations"],
            "seeds": list(dict.fromkeys(i.seed for i in instances)),
            "sweep": None if sweep is None else {"key": sweep[0], "values": list(sweep[1])},
            "score": "final_nmse" if "final_nmse" in first else "final_accuracy",
            "instances": rows, "groups": groups}


# ------------------------------------------------------------------ running
#: How a run in this process counts its iterations (``progress`` of
#: :func:`~lava_eprop.runs.run_training`): adding to the pool's shared counter in a
#: worker, the parent bar's ``update`` in a run without workers, None otherwise.
_PROGRESS = None


def _add_to(counter, n: int) -> None:
    """Add ``n`` iterations done to the pool's shared ``counter``."""
    with counter.get_lock():
        counter.value += n


def _init_worker(threads: int, engine: str, counter=None) -> None:
    """Pool initialiser: this worker's numba, OpenMP and BLAS use ``threads`` threads;
    for ``engine`` lava, its processes fork, as Lava's runtime requires (it sets the
    start method 'fork', :mod:`lava_eprop.lava_runtime`) and a single run does.
    ``counter``: the shared count of iterations done, which this worker's runs add to."""
    global _PROGRESS
    _PROGRESS = functools.partial(_add_to, counter)
    if engine == "lava":
        import multiprocessing
        multiprocessing.set_start_method("fork", force=True)
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    if "numba" in sys.modules:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=threads)


def _run_instance(job: dict) -> tuple:
    """Run one instance (in a worker): the single run ``train --seed S`` makes.
    Returns its metrics, trained weights and trained config (as a dict)."""
    from lava_eprop.runs import run_training

    cfg = from_dict(job["config"], source=job["source"], base_dir=job["base_dir"])
    run = run_training(cfg, job["engine"], job["out_dir"],
                       progress=_PROGRESS or False,
                       checkpoint_every=job["checkpoint_every"], resume_dir=job["resume_dir"],
                       overflow=job["overflow"], init=job["init"], force=job["force"],
                       chip=job["chip"])
    return run.metrics, run.weights, run.config.to_dict()


def _finished(run_dir: Path):
    """The metrics and network of the finished run in ``run_dir``, or None."""
    from lava_eprop.network_file import load_network

    if not (run_dir / "metrics.json").is_file():
        return None
    return json.loads((run_dir / "metrics.json").read_text()), load_network(run_dir / "network.npz")


def _check_plan(out_dir: Path, plan: dict, resume: bool, force: bool) -> None:
    """Refuse an ``out_dir`` holding another multi-run unless ``force``; with
    ``resume``, one made with other configs, seeds or options."""
    path = out_dir / PLAN_NAME
    if resume:
        if not path.is_file():
            raise UserError(f"--resume: no {PLAN_NAME} in '{out_dir}' (allowed: the --out of "
                            "an interrupted train --seeds)")
        if json.loads(path.read_text()) != plan:
            raise UserError(f"--resume: '{out_dir}' holds runs of another config, seed list, "
                            "sweep, engine or options (resume with those of the interrupted "
                            "run)")
    elif (path.exists() or (out_dir / "summary.json").exists()) and not force:
        raise UserError(f"--out '{out_dir}' already holds a multi-seed run (allowed: --force "
                        f"to overwrite it, --resume {out_dir} to continue it, or another --out)")


def _workers(jobs: int | None, todo: int, cfgs: list, engine: str) -> int:
    """min(runs, ``jobs`` or the core count, the runs whose memory estimates fit at once)."""
    from lava_eprop.resources import BUDGET, available_bytes, check_memory, training_estimate

    need = max(check_memory(training_estimate(c, engine)) for c in cfgs)
    have = available_bytes()
    fit = max(1, int(BUDGET * have // max(need, 1))) if have is not None else todo
    return max(1, min(todo, jobs or os.cpu_count() or 1, fit))


def _named(inst: Instance, exc: BaseException) -> BaseException:
    """``exc`` with the instance's folder name in front of its message (a user
    mistake or numerical fault); other exceptions as they are."""
    from lava_eprop.errors import NumericalError

    if isinstance(exc, (UserError, NumericalError)):
        return type(exc)(f"{inst.name}: {exc}")
    return exc


def _run_all(jobs: list, workers: int, engine: str, on_done, bar) -> None:
    """Run ``jobs`` (``(index, job)``) with ``workers`` processes (in this process
    when 1), calling ``on_done(index, value)`` as each finishes; ``bar`` (tqdm)
    counts the iterations the runs have done. After a failure no further run
    starts and those running finish; then the failure of the first instance
    that failed (by index) is raised as a :class:`_Failed`."""
    global _PROGRESS
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from multiprocessing import get_context

    if workers == 1:
        _PROGRESS = bar.update
        try:
            for k, job in jobs:
                try:
                    value = _run_instance(job)
                except Exception as exc:
                    raise _Failed(k, exc) from exc
                on_done(k, value)
        finally:
            _PROGRESS = None
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = get_context("spawn")
    counter, start = context.Value("q", 0), bar.n
    failures = []
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(threads, engine, counter)) as pool:
        futures = {pool.submit(_run_instance, job): k for k, job in jobs}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            bar.update(start + counter.value - bar.n)
            for future in finished:
                if future.cancelled():
                    continue
                if future.exception() is None:
                    on_done(futures[future], future.result())
                    continue
                failures.append(_Failed(futures[future], future.exception()))
                for other in futures:
                    other.cancel()
    if failures:
        raise min(failures, key=lambda f: f.index)


class _Failed(Exception):
    """An instance's run raised ``exc``; ``index`` says which."""

    def __init__(self, index: int, exc: BaseException):
        super().__init__(index, exc)
        self.index, self.exc = index, exc


def train_instances(base: Config, engine: str, seeds, sweep: tuple | None = None,
                    out_dir: Path | None = None, *, jobs: int | None = None,
                    overrides: dict | None = None, init=None, chip: bool = False,
                    overflow: str = "count", checkpoint_every: int | None = None,
                    resume: bool = False, force: bool = False,
                    progress: bool = True) -> SeedRuns:
    """Train ``base`` once per seed (per swept value) in a process pool; write the run
    folders and the summary into ``out_dir`` (none without).

    ``sweep`` is ``(key, values)`` (:func:`parse_sweep`); ``overrides`` the
    ``training`` keys given as options (``method``, ``iterations``). With
    ``resume``, each instance whose folder holds a finished run is kept, one
    with a checkpoint continues from it and the others start afresh; the
    configs, seeds and options must be those ``out_dir/instances.json``
    recorded. When an instance fails no further one starts, those running
    finish (their folders are written), and its error is raised prefixed by its
    folder name; no summary is written.
    """
    from tqdm import tqdm

    from lava_eprop import plots
    from lava_eprop.io import check_output_dir, write_json
    from lava_eprop.network_file import TrainedNetwork
    from lava_eprop.runs import ENGINES, TrainingRun, check_out_dir

    if engine not in ENGINES:
        raise UserError(f"engine {engine!r} is not allowed (allowed: {', '.join(ENGINES)})")
    if checkpoint_every is not None and out_dir is None:
        raise UserError("checkpoint_every needs an out_dir to write checkpoint.npz into")
    if resume and out_dir is None:
        raise UserError("resume needs the out_dir of the interrupted runs")
    seeds = parse_seeds(seeds)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if sweep is not None and sweep[0] in {f"training.{k}" for k in overrides}:
        raise UserError(f"--sweep {sweep[0]} with --{sweep[0][len('training.'):]} (allowed: "
                        "one of them)")
    instances = [Instance(s, v, sweep[0] if sweep else None)
                 for v in (sweep[1] if sweep else [None]) for s in seeds]
    cfgs = [_instance_config(base, i, overrides) for i in instances]
    if out_dir is not None:
        out_dir = Path(out_dir)
        check_output_dir(out_dir)
        plan = {"engine": engine, "instances": [i.name for i in instances],
                "configs": [save_yaml(c) for c in cfgs],
                "init": None if init is None else str(init), "chip_regime": chip,
                "overflow": overflow}
        _check_plan(out_dir, plan, resume, force)
    done, todo = {}, []
    for k, (inst, cfg) in enumerate(zip(instances, cfgs)):
        run_dir = None if out_dir is None else out_dir / inst.name
        finished = _finished(run_dir) if resume else None
        if finished is not None:
            done[k] = finished
            continue
        resume_dir = run_dir if resume and (run_dir / "checkpoint.npz").is_file() else None
        if run_dir is not None:
            check_out_dir(run_dir, resume_dir, force)
        todo.append((k, {"config": cfg.to_dict(), "source": cfg.source,
                         "base_dir": cfg.base_dir, "engine": engine, "out_dir": run_dir,
                         "checkpoint_every": checkpoint_every, "resume_dir": resume_dir,
                         "overflow": overflow, "init": init, "force": force, "chip": chip}))
    workers = _workers(jobs, len(todo), cfgs, engine) if todo else 1
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").unlink(missing_ok=True)
        write_json(out_dir / PLAN_NAME, plan)
    bar = tqdm(total=sum(c.training.iterations for c in cfgs),
               initial=sum(cfgs[k].training.iterations for k in done), unit="it", leave=False,
               desc=f"train {cfgs[0].task.name} ({engine}, {len(instances)} runs, "
                    f"{workers} at once)", disable=None if progress else True)

    def on_done(k, value):
        metrics, weights, trained = value
        cfg = from_dict(trained, source=cfgs[k].source, base_dir=cfgs[k].base_dir)
        done[k] = metrics, TrainedNetwork(cfg, weights, engine)
        name, score = (("held_nmse", metrics["final_nmse"]) if "final_nmse" in metrics
                       else ("held_acc", metrics["final_accuracy"]))
        bar.set_postfix({"last": instances[k].name, name: f"{score:.3g}"}, refresh=False)

    try:
        _run_all(todo, workers, engine, on_done, bar)
    except _Failed as failed:
        raise _named(instances[failed.index], failed.exc) from failed.exc
    finally:
        bar.close()
    runs = [TrainingRun(*done[k], None, None if out_dir is None else out_dir / inst.name,
                        _run_files(out_dir, inst))
            for k, inst in enumerate(instances)]
    summary = {**summarise(instances, [r.metrics for r in runs], sweep), "workers": workers}
    result = SeedRuns(runs, instances, summary)
    if out_dir is not None:
        write_json(out_dir / "summary.json", summary)
        plots.seeds_summary(out_dir / "summary.png", summary, [r.metrics for r in runs])
        result.out_dir = out_dir
        tops = dict.fromkeys(i.name.split("/")[0] + "/" for i in instances)
        result.files = (*SUMMARY_FILES, PLAN_NAME, *tops)
    return result


def _run_files(out_dir: Path | None, inst: Instance) -> tuple:
    """The run files in the instance's folder."""
    from lava_eprop.runs import RUN_FILES

    if out_dir is None:
        return ()
    return tuple(n for n in RUN_FILES if (out_dir / inst.name / n).exists())
