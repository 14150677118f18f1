"""A training run from config to files: train, then write network, metrics and plots."""
from __future__ import annotations

from pathlib import Path

from lava_eprop import __version__, plots
from lava_eprop.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from lava_eprop.config import Config
from lava_eprop.errors import NumericalError, UserError
from lava_eprop.initial import INIT_WITH_RESUME, load_initial
from lava_eprop.io import check_output_dir, non_finite, remove_stray_temporaries, write_json
from lava_eprop.network_file import TrainedNetwork, save_network
from lava_eprop.reference.network import mean_rate_hz
from lava_eprop.reference.train import TrainResult, train_float
from lava_eprop.resources import check_memory, training_estimate
from lava_eprop.tasks import make_task

#: files a run writes; RUN_MARKS are those whose presence means a directory holds a run
RUN_FILES = ("metrics.json", "network.npz", CHECKPOINT_NAME, "loss.png", "raster.png",
             "readout.png")
RUN_MARKS = ("metrics.json", "network.npz", CHECKPOINT_NAME)
LAVA_NOT_COUNTED = ("not counted by --engine lava (Lava's models have no counters); "
                    "--engine fixed runs the same integers and counts them")


def metrics_of(cfg: Config, engine: str, task_name: str, result: TrainResult) -> dict:
    """The ``metrics.json`` document of a run (keys of DESIGN section 7)."""
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


def run_training(cfg: Config, engine: str, out_dir: Path, progress: bool = True,
                 checkpoint_every: int | None = None, resume_dir: Path | None = None,
                 overflow: str = "count", init: str | Path | None = None,
                 force: bool = False, chip: bool = False) -> dict:
    """Train as ``cfg`` says and write the run's files into ``out_dir``.

    With ``checkpoint_every`` the run writes ``out_dir/checkpoint.npz`` every
    that many iterations; ``resume_dir`` continues from the checkpoint there.
    ``init``, a network file (``network.npz``), gives the initial weights and
    feedback of any engine (:mod:`lava_eprop.initial`: what must match);
    a run begun with it resumes with ``resume_dir`` alone.
    ``overflow`` (``count`` or ``fatal``) is the fixed engine's handling of
    saturation and wrap-around (:func:`lava_eprop.engine.train.train_fixed`).
    An ``out_dir`` holding another run is refused unless ``force`` (which deletes
    that run's checkpoint) or the run resumes from it (:func:`check_out_dir`);
    temporary files a killed run left there are removed. A NaN or Inf in any
    metric stops with :class:`~lava_eprop.errors.NumericalError` before anything
    is written. ``chip`` trains in the chip's regime
    (:func:`lava_eprop.engine.train.chip_regime`). A run whose memory estimate
    (:func:`lava_eprop.resources.training_estimate`, from the config alone) does
    not fit is refused before the task is built.
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir, resume_dir, force)
    if init is not None and resume_dir is not None:
        raise UserError(INIT_WITH_RESUME)
    check_memory(training_estimate(cfg.with_overrides(batch_size=1) if chip else cfg, engine))
    task = make_task(cfg)
    if engine != "float":                    # before anything in out_dir is touched
        task.check_spikes(f"--engine {engine}")
    if chip:
        from lava_eprop.engine.train import chip_regime
        cfg = chip_regime(cfg, task, engine)
    resume = (load_checkpoint(resume_dir, cfg, engine, task.n_in, task.n_out)
              if resume_dir is not None else None)
    initial = load_initial(init, cfg, task.n_in, task.n_out) if init is not None else None
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
        from lava_eprop.engine.train import train_fixed
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
    out_dir.mkdir(parents=True, exist_ok=True)
    save_network(out_dir / "network.npz", TrainedNetwork(cfg, result.weights, engine))
    write_json(out_dir / "metrics.json", metrics)
    title = f"{task.name}, {cfg.training.method}, {engine}"
    plots.loss_curve(out_dir / "loss.png", result.loss_curve, result.eval_curve, task.kind, title)
    ev = result.final
    plots.raster(out_dir / "raster.png", ev.batch.inputs[0], ev.record.z[0], cfg.network.dt,
                 f"{task.name}: held-out trial 0 after training")
    plots.readout(out_dir / "readout.png", ev.record.y[0], ev.batch.targets[0], ev.batch.mask[0],
                  task.kind, cfg.network.dt, f"{task.name}: readout after training")
    return metrics

