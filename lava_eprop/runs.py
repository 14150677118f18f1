"""A training run from config to files: train, then write network, metrics and plots."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lava_eprop import __version__, plots
from lava_eprop.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from lava_eprop.config import Config
from lava_eprop.errors import NumericalError, UserError
from lava_eprop.initial import INIT_WITH_RESUME, load_initial
from lava_eprop.io import check_output_dir, non_finite, remove_stray_temporaries, write_json
from lava_eprop.network_file import TrainedNetwork, save_network
from lava_eprop.reference.network import mean_rate_hz
from lava_eprop.resources import check_memory, training_estimate
from lava_eprop.tasks import make_task
from lava_eprop.training.common import TrainResult
from lava_eprop.training.reference import train_float

#: files a run writes; RUN_MARKS are those whose presence means a directory holds a run
RUN_FILES = ("metrics.json", "network.npz", CHECKPOINT_NAME, "loss.png", "raster.png",
             "readout.png")
RUN_MARKS = ("metrics.json", "network.npz", CHECKPOINT_NAME)
ENGINES = ("float", "fixed", "lava")
LAVA_NOT_COUNTED = ("not counted by --engine lava (Lava's models have no counters); "
                    "--engine fixed runs the same integers and counts them")


def metrics_of(cfg: Config, engine: str, task_name: str, result: TrainResult) -> dict:
    """The ``metrics.json`` document of a run (its keys:
    docs/architecture.md#run-files-and-errors)."""
    t = cfg.training
    final = result.final
    metrics = {
        "task": task_name, "engine": engine, "method": t.method, "feedback": t.feedback,
        "update": t.update, "iterations": t.iterations, "seed": t.seed,
        "batch_size": t.batch_size,
        "initial_loss": result.initial.loss, "final_loss": final.loss,
        "loss_curve": result.loss_curve,
        "eval_curve": [{"iteration": i, "loss": loss, "score": s}
                       for i, loss, s in result.eval_curve],
        "seconds": result.seconds,
        "steps_per_second": result.steps_simulated / max(result.seconds, 1e-9),
        "mean_rate_hz": mean_rate_hz(final.record.z, cfg.network.dt),
        "package_version": __version__,
    }
    if result.saturation is not None:
        metrics["saturation"] = {"total": sum(result.saturation.values()),
                                 "counts": dict(sorted(result.saturation.items()))}
    elif engine == "lava":
        metrics["saturation"] = None       # Lava's models do not count; say so, not 0
        metrics["saturation_note"] = LAVA_NOT_COUNTED
    if final.nmse is not None:
        metrics.update(initial_nmse=result.initial.nmse, final_nmse=final.nmse)
    else:
        metrics.update(initial_accuracy=result.initial.accuracy, final_accuracy=final.accuracy)
    return metrics


def check_out_dir(out_dir: Path, resume_dir: Path | None, force: bool) -> None:
    """Refuse an unwritable ``out_dir``, and one that holds another run (one of
    :data:`RUN_MARKS`) unless ``force`` or the run resumes from ``out_dir`` itself."""
    check_output_dir(out_dir)
    held = [name for name in RUN_MARKS if (out_dir / name).exists()]
    if held and not (force or _resumes_from(out_dir, resume_dir)):
        raise UserError(f"--out '{out_dir}' already holds a run ({', '.join(held)}; allowed: "
                        f"--force to overwrite it, --resume {out_dir} to continue it, or "
                        "another --out)")


def _resumes_from(out_dir: Path, resume_dir: Path | None) -> bool:
    return resume_dir is not None and Path(resume_dir).resolve() == Path(out_dir).resolve()


@dataclass
class TrainingRun:
    """What a training run produced (:func:`lava_eprop.train` returns it).

    Attributes
    ----------
    metrics : dict
        The ``metrics.json`` document: held-out loss and score before and after
        training, the curves, seconds, rates, saturation counts.
    network : TrainedNetwork
        The trained network: ``config`` (the one trained, after ``chip_regime``),
        ``weights`` (float, :class:`~lava_eprop.reference.params.Weights`) and
        ``engine``; what ``network.npz`` holds.
    result : TrainResult
        The trainer's result: ``initial`` and ``final`` held-out evaluations
        with their recordings (spikes ``record.z``, readout ``record.y``) and
        trials (``batch``), ``loss_curve``, ``eval_curve``.
    out_dir : Path or None
        Where the files were written; None when nothing was.
    files : list of str
        The names of the files written into ``out_dir``.
    """

    metrics: dict
    network: TrainedNetwork
    result: TrainResult
    out_dir: Path | None = None
    files: tuple = ()

    @property
    def weights(self):
        """The trained float weights (``w_in``, ``w_rec``, ``w_out``, ``b_out``, ``fb``)."""
        return self.network.weights

    @property
    def config(self) -> Config:
        """The config the network was trained with."""
        return self.network.config

    def summary(self) -> str:
        """Two lines: the held-out result and time; where the files are."""
        m = self.metrics
        name, unit = ("NMSE", "nmse") if "final_nmse" in m else ("accuracy", "accuracy")
        line = (f"{m['task']} ({m['engine']}, {m['method']}): held-out {name} "
                f"{m['initial_' + unit]:.4g} -> {m['final_' + unit]:.4g} after "
                f"{m['iterations']} iterations in {m['seconds']:.1f} s")
        if self.out_dir is None:
            return line + "\nno files written (no out_dir)"
        return line + f"\nfiles in {self.out_dir}: {', '.join(self.files)}"

    def summary_json(self) -> dict:
        """The metrics without the curves, plus ``out_dir`` and ``files``: what
        ``lava-eprop train --json`` prints as one line."""
        out = {k: v for k, v in self.metrics.items() if k not in ("loss_curve", "eval_curve")}
        out.update(out_dir=None if self.out_dir is None else str(self.out_dir),
                   files=list(self.files))
        return out


def run_training(cfg: Config, engine: str, out_dir: Path | None = None, progress=True,
                 checkpoint_every: int | None = None, resume_dir: Path | None = None,
                 overflow: str = "count", init: str | Path | None = None,
                 force: bool = False, chip: bool = False) -> TrainingRun:
    """Train as ``cfg`` says and write the run's files into ``out_dir`` (none without).

    With ``checkpoint_every`` the run writes ``out_dir/checkpoint.npz`` every
    that many iterations; ``resume_dir`` continues from the checkpoint there.
    ``init``, a network file (``network.npz``), gives the initial weights and
    feedback of any engine (:mod:`lava_eprop.initial`: what must match);
    a run begun with it resumes with ``resume_dir`` alone.
    ``overflow`` (``count`` or ``fatal``) is the fixed engine's handling of
    saturation and wrap-around (:func:`lava_eprop.training.onchip.train_fixed`).
    An ``out_dir`` holding another run is refused unless ``force`` (which deletes
    that run's checkpoint) or the run resumes from it (:func:`check_out_dir`);
    temporary files a killed run left there are removed. A NaN or Inf in any
    metric stops with :class:`~lava_eprop.errors.NumericalError` before anything
    is written. ``chip`` trains in the chip's regime
    (:func:`lava_eprop.training.onchip.chip_regime`). A run whose memory estimate
    (:func:`lava_eprop.resources.training_estimate`, from the config alone) does
    not fit is refused before the task is built. ``progress``: a progress bar on a
    terminal (True), none (False), or a callable given the iterations done
    (:func:`lava_eprop.training.common.iteration_bar`).
    """
    if engine not in ENGINES:
        raise UserError(f"engine {engine!r} is not allowed (allowed: {', '.join(ENGINES)})")
    if out_dir is None and checkpoint_every is not None:
        raise UserError("checkpoint_every needs an out_dir to write checkpoint.npz into")
    if out_dir is not None:
        out_dir = Path(out_dir)
        check_out_dir(out_dir, resume_dir, force)
    if init is not None and resume_dir is not None:
        raise UserError(INIT_WITH_RESUME)
    check_memory(training_estimate(cfg.with_overrides(batch_size=1) if chip else cfg, engine))
    task = make_task(cfg)
    if engine != "float":                    # before anything in out_dir is touched
        task.check_spikes(f"--engine {engine}")
    if chip:
        from lava_eprop.training.onchip import chip_regime
        cfg = chip_regime(cfg, task, engine)
    resume = (load_checkpoint(resume_dir, cfg, engine, task.n_in, task.n_out)
              if resume_dir is not None else None)
    initial = load_initial(init, cfg, task.n_in, task.n_out) if init is not None else None
    if out_dir is not None:
        if force and not _resumes_from(out_dir, resume_dir):   # the other run's: not resumable
            (out_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
        remove_stray_temporaries(out_dir, RUN_FILES)

    def write_checkpoint(state):
        out_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(out_dir / CHECKPOINT_NAME, cfg, state)

    if engine != "fixed" and overflow != "count":
        raise UserError(f"--overflow {overflow} with --engine {engine} (allowed: --overflow "
                        "fatal with --engine fixed, which counts saturation)")
    if engine == "float":
        result = train_float(cfg, task, progress=progress, checkpoint=write_checkpoint,
                             checkpoint_every=checkpoint_every, resume=resume,
                             initial=initial)
    else:
        from lava_eprop.training.onchip import train_fixed
        result = train_fixed(cfg, task, engine, progress=progress, checkpoint=write_checkpoint,
                             checkpoint_every=checkpoint_every, resume=resume,
                             overflow=overflow, initial=initial)
    metrics = metrics_of(cfg, engine, task.name, result)
    metrics["init"] = None if init is None else str(init)
    metrics["chip_regime"] = chip
    bad = non_finite(metrics)
    if bad is not None:
        raise NumericalError(f"metric {bad.lstrip('.')} is NaN or Inf after training; nothing "
                             "written (check training.learning_rate, network.dt and the "
                             "targets)")
    run = TrainingRun(metrics, TrainedNetwork(cfg, result.weights, engine), result)
    if out_dir is None:
        return run
    out_dir.mkdir(parents=True, exist_ok=True)
    save_network(out_dir / "network.npz", run.network)
    write_json(out_dir / "metrics.json", metrics)
    title = f"{task.name}, {cfg.training.method}, {engine}"
    plots.loss_curve(out_dir / "loss.png", result.loss_curve, held_out_points(result),
                     task.kind, title)
    ev = result.final
    plots.raster(out_dir / "raster.png", ev.batch.inputs[0], ev.record.z[0], cfg.network.dt,
                 f"{task.name}: held-out trial 0 after training")
    plots.readout(out_dir / "readout.png", ev.record.y[0], ev.batch.targets[0], ev.batch.mask[0],
                  task.kind, cfg.network.dt, f"{task.name}: readout after training")
    run.out_dir = out_dir
    run.files = tuple(name for name in RUN_FILES if name != CHECKPOINT_NAME or checkpoint_every)
    return run


def held_out_points(result: TrainResult) -> list:
    """``[iteration, loss, score]`` of every held-out evaluation: the initial one at
    iteration 0, those during training and the final one (at the last iteration,
    unless an evaluation was made there)."""
    def point(iteration, ev):
        return [iteration, ev.loss, ev.nmse if ev.nmse is not None else ev.accuracy]

    points = [point(0, result.initial), *map(list, result.eval_curve)]
    last = len(result.loss_curve)
    if points[-1][0] != last:
        points.append(point(last, result.final))
    return points
