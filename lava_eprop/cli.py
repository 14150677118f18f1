"""The ``lava-eprop`` command line.

User mistakes (bad config, missing file, bad option) print one line,
``error: ...``, on stderr and exit with status 2, without a traceback; a
numerical fault during training prints one line and exits with status 1.
Outputs are written atomically, and only once a run has succeeded.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from lava_eprop import __version__
from lava_eprop.config import PRESETS
from lava_eprop.errors import NumericalError, UserError
from lava_eprop.lava_runtime import require_lava

class NonEmptyPath(click.Path):
    """``click.Path`` that refuses an empty value (``--out ""`` would mean the current
    directory)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("is empty (allowed: a path)", param, ctx)
        return super().convert(value, param, ctx)


CONFIG_HELP = (f"CONFIG_OR_PRESET: a preset ({', '.join(PRESETS)}; lava-eprop presets) or "
               "the path of a YAML config (docs/config.md; lava-eprop show-config prints "
               "one in full).")


def set_option(command):
    """The ``--set SECTION.KEY=VALUE`` option (repeatable) of a command that takes a config."""
    return click.option("--set", "settings", multiple=True, metavar="SECTION.KEY=VALUE",
                        help="Override one config key (repeatable), e.g. --set "
                             "training.iterations=50; the value is read as YAML.")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lava-eprop")
def cli():
    """e-prop (eligibility propagation, Bellec et al. 2020) for recurrent spiking
    networks on Loihi 2 through Lava: training in float, on chip in the
    bit-exact fast engine or as Lava processes (train); Loihi 2 microcode
    learning rules (export-rule, show-rule); the quantization error of the
    fixed-point model (quant-report); deployment of trained networks (run,
    export-netx, deploy), export to NIR (export-nir); the presets and their configs
    (presets, show-config). Lava's runtime (train --engine lava, run, deploy) needs
    Python 3.10 with lava-nc; the rest runs on Python 3.10-3.13. Python: import
    lava_eprop (the same functions). Tutorials: tutorials/01_quickstart.ipynb ff."""


@cli.command("presets")
def presets_cmd():
    """List the built-in presets, one line each."""
    from lava_eprop.api import presets

    items = presets()
    width = max(map(len, items))
    for name, description in items.items():
        click.echo(f"{name:<{width}}  {description}")


@cli.command("show-config", epilog=CONFIG_HELP)
@click.argument("config_or_preset", metavar="CONFIG_OR_PRESET")
@set_option
def show_config(config_or_preset, settings):
    """Print the full resolved config (every key, defaults filled in, --set applied) as
    YAML with each key's meaning and allowed values as comments; save it to start a
    config of your own."""
    from lava_eprop.api import load_config
    from lava_eprop.config import commented_yaml

    cfg = load_config(config_or_preset, settings)
    command = " ".join(["lava-eprop show-config", str(config_or_preset),
                        *(f"--set {item}" for item in settings)])
    click.echo(commented_yaml(cfg, f"{command}\nevery key, defaults filled in; reference: "
                                   "docs/config.md"), nl=False)


@cli.command(epilog=CONFIG_HELP)
@click.argument("config_or_preset", metavar="CONFIG_OR_PRESET")
@click.option("--engine", type=click.Choice(["float", "fixed", "lava"]), default="float",
              show_default=True,
              help="float: the NumPy float64 reference model; fixed: on-chip online e-prop "
                   "in the bit-exact fast engine; lava: the same in Lava's Loihi2SimCfg "
                   "(slow).")
@click.option("--method", type=click.Choice(["eprop", "bptt"]), default=None,
              help="Learning algorithm (default: the config's training.method). bptt needs "
                   "the dl extra (PyTorch).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Training iterations (default: the config's training.iterations).")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=None,
              help="Seed of weights, feedback and trial sampling (default: training.seed).")
@click.option("--seeds", default=None, metavar="S1,S2,...",
              help="Train once per seed (distinct integers, e.g. 0,1,2), each exactly the run "
                   "--seed S makes, in parallel processes; --out gets a run folder per seed "
                   "(seed-S/) and summary.json, summary.png (mean and spread).")
@click.option("--sweep", default=None, metavar="SECTION.KEY=V1,V2,...",
              help="Also train once per value of this config key (crossed with --seeds, or "
                   "the one seed); folders KEY=V/seed-S/; the summary groups by value.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --seeds/--sweep: at most N runs at once (default: the number of "
                   "cores; fewer if memory does not fit them).")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              required=True, help="Output directory (created if missing).")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=None, metavar="N",
              help="Write OUT/checkpoint.npz every N iterations (atomically).")
@click.option("--resume", "resume_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              default=None, metavar="DIR",
              help="Continue the run whose checkpoint.npz is in DIR (same config, seed and "
                   "method); the result equals an uninterrupted run bit for bit.")
@click.option("--init", "init_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, metavar="NETWORK.npz",
              help="Start from this saved network's weights and feedback instead of random "
                   "ones (any engine; on chip quantised as random ones are). Its task sizes "
                   "and network keys must match the config's (except dampening and "
                   "w_*_scale); training and fixed_point may differ.")
@click.option("--force", is_flag=True,
              help="Overwrite a run already in --out (without it such an --out is refused, "
                   "unless --resume names it).")
@click.option("--overflow", type=click.Choice(["count", "fatal"]), default="count",
              show_default=True,
              help="--engine fixed: saturation and wrap-around of fixed-point variables are "
                   "counted into metrics.json (saturation); fatal stops training (exit 1) at "
                   "the first trial with any.")
@click.option("--chip-regime", "chip", is_flag=True,
              help="Train as the chip learns: one trial per iteration; with --engine float "
                   "also SGD at the chip's learning rate in float units (times the error "
                   "steps per trial for classification), per trial (training.update batch) "
                   "or every step (--set training.update=online): the float baseline of an "
                   "on-chip run with the same seed and trials.")
@set_option
@click.option("--json", "as_json", is_flag=True,
              help="End with one JSON line on stdout (metrics.json without the curves, "
                   "plus out_dir and files) instead of the readable summary.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_or_preset, engine, method, iterations, seed, seeds, sweep, jobs, out_dir,
          checkpoint_every, resume_dir, init_path, force, overflow, chip, settings, as_json,
          quiet):
    """Train a network and write metrics.json, network.npz and plots to --out; end by
    printing the held-out result, the time and where the files are.

    \b
    metrics.json  task, engine, method, feedback, update, iterations,
                  batch_size, seed, initial_loss, final_loss (held-out task
                  loss before / after training), loss_curve (training loss
                  per iteration), eval_curve, initial_/final_nmse
                  (regression: MSE / target variance) or initial_/
                  final_accuracy (classification, held-out trials), seconds,
                  steps_per_second, mean_rate_hz, package_version,
                  init (the --init file or null), saturation (--engine
                  fixed: events per variable; --engine lava: null, with
                  saturation_note)
    network.npz   trained weights, feedback matrix and the full config
    checkpoint.npz  with --checkpoint-every
    loss.png, raster.png, readout.png

    \b
    Several seeds (and values of one key) at once, one process per run:
      lava-eprop train CONFIG --seeds 0,1,2 --out runs/s
      lava-eprop train CONFIG --seeds 0,1 --sweep training.learning_rate=0.001,0.003 --out runs/w
    With --resume OUT (the same --out) every unfinished run continues from its
    checkpoint (or starts afresh); finished runs are kept.

    \b
    Continue a float-trained network on chip:
      lava-eprop train CONFIG --engine float --out runs/x
      lava-eprop train CONFIG --engine fixed --init runs/x/network.npz --out runs/y
    """
    import json

    if engine == "lava":
        require_lava("train --engine lava")
    if seeds is not None or sweep is not None:
        _train_seeds(config_or_preset, engine, seed, seeds, sweep, jobs, out_dir, method=method,
                     iterations=iterations, settings=settings, init=init_path, chip_regime=chip,
                     overflow=overflow, checkpoint_every=checkpoint_every, resume=resume_dir,
                     force=force, progress=not quiet, as_json=as_json)
        return
    if jobs is not None:
        raise UserError("--jobs without --seeds or --sweep (allowed: --jobs N with --seeds "
                        "S1,S2,... or --sweep KEY=V1,V2,...)")
    from lava_eprop.api import train as train_network

    run = train_network(config_or_preset, engine, out_dir, seed=seed, iterations=iterations,
                        method=method, settings=settings, init=init_path, chip_regime=chip,
                        overflow=overflow, checkpoint_every=checkpoint_every,
                        resume=resume_dir, force=force, progress=not quiet)
    click.echo(json.dumps(run.summary_json()) if as_json else run.summary())
    metrics = run.metrics
    saturation = metrics.get("saturation")
    if "saturation_note" in metrics:
        click.echo(f"note: fixed-point saturation {metrics['saturation_note']}", err=True)
    if saturation and saturation["total"]:
        top = sorted(saturation["counts"].items(), key=lambda kv: -kv[1])[:3]
        click.echo(f"note: {saturation['total']} fixed-point saturation/wrap events ("
                   + ", ".join(f"{k} {n}" for k, n in top if n)
                   + "); see metrics.json saturation", err=True)


def _train_seeds(config_or_preset, engine, seed, seeds, sweep, jobs, out_dir, *, resume,
                 as_json, **options):
    """``train --seeds``/``--sweep``: the runs, then their table (or one JSON line)."""
    import json

    from lava_eprop.api import train_seeds

    if seeds is not None and seed is not None:
        raise UserError("--seeds with --seed (allowed: one of them; --seeds 0,1,2 runs one "
                        "training per seed)")
    if resume is not None and resume.resolve() != out_dir.resolve():
        raise UserError(f"--resume '{resume}' with --seeds/--sweep must name the --out "
                        f"directory ('{out_dir}'), whose runs it continues")
    if seeds is None:
        seeds = [seed] if seed is not None else None
    runs = train_seeds(config_or_preset, engine, out_dir, seeds=seeds, sweep=sweep, jobs=jobs,
                       resume=resume is not None, **options)
    click.echo(json.dumps(runs.summary_json()) if as_json else runs.table())
    for run, inst in zip(runs.runs, runs.instances):
        total = (run.metrics.get("saturation") or {}).get("total")
        if total:
            click.echo(f"note: {inst.name}: {total} fixed-point saturation/wrap events; see "
                       f"its metrics.json saturation", err=True)


@cli.command("export-rule", epilog=CONFIG_HELP)
@click.argument("config_or_preset", metavar="CONFIG_OR_PRESET")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="Document format (same content).")
@click.option("-o", "--output", "output", type=NonEmptyPath(dir_okay=False, path_type=Path),
              default=None, help="Write here (atomically) instead of stdout.")
@set_option
def export_rule(config_or_preset, fmt, output, settings):
    """Compile e-prop into Loihi 2 learning rules and fixed-point parameters.

    Writes a versioned document (schema version, lava-nc version, per projection
    the Loihi3FLearningRule strings, x1 impulse and tau, t_epoch, widths and
    exponents; per neuron group the fixed-point parameters; the approximation
    errors). Load it back into Lava with compilers.load_rules(path).
    """
    from lava_eprop.api import export_rules

    export = export_rules(config_or_preset, output, fmt=fmt, settings=settings)
    for message in export.warnings:
        click.echo(f"warning: {message}", err=True)
    if output is None:
        click.echo(export.text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)


@cli.command("show-rule", epilog=CONFIG_HELP)
@click.argument("config_or_preset", metavar="CONFIG_OR_PRESET")
@set_option
def show_rule(config_or_preset, settings):
    """Print the compiled Loihi 2 rules and parameters as a readable table."""
    from lava_eprop.api import export_rules

    export = export_rules(config_or_preset, settings=settings)
    for message in export.warnings:
        click.echo(f"warning: {message}", err=True)
    click.echo(export.table, nl=False)


NETWORK_ARG = NonEmptyPath(dir_okay=False, path_type=Path)


def _output_file(path: Path) -> Path:
    if not path.parent.is_dir():
        raise UserError(f"-o '{path}': directory '{path.parent}' does not exist")
    if path.is_dir():
        raise UserError(f"-o '{path}' is a directory (allowed: a file path)")
    return path


@cli.command("export-netx")
@click.argument("network", metavar="NETWORK.npz", type=NETWORK_ARG)
@click.option("-o", "--output", required=True, type=NonEmptyPath(path_type=Path),
              help="The netx HDF5 file to write (atomically).")
def export_netx(network, output):
    """Export a trained LIF network as a netx HDF5 file for lava.lib.dl.netx.

    \b
    Layers: input, dense_rec (CUBA LIF), dense readout (CUBA, never spikes).
    Refused: ALIF neurons, refractory periods. Differences from the product's
    own inference (netx resets v to 0, weight exponents folded into register
    scales) are printed as notes; see docs/deployment.md.
    """
    from lava_eprop.api import export_netx as export_network
    from lava_eprop.network_file import load_network

    net = load_network(network)
    export = export_network(net, _output_file(output))
    for note in export.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {output}")


@cli.command("export-nir")
@click.argument("network", metavar="NETWORK.npz", type=NETWORK_ARG)
@click.option("-o", "--output", required=True, type=NonEmptyPath(path_type=Path),
              help="The NIR file to write (HDF5, atomically).")
@click.option("--weights", type=click.Choice(["float", "chip"]), default="float",
              show_default=True, help="float: the trained weights; chip: the quantised "
              "on-chip weights (in float units). Stated in the file's metadata.")
def export_nir(network, output, weights):
    """Export a trained LIF network as a NIR graph (nir.read reads it back).

    \b
    Nodes: input, w_in (Linear), lif (LIF) with w_rec (Linear), w_out (Affine),
    readout (LI), output. Refused: ALIF neurons, refractory periods. NIR's LIF
    resets v to 0 at a spike, the product subtracts the threshold a step later;
    see docs/nir.md for the mapping and the measured agreement.
    """
    from lava_eprop.network_file import load_network
    from lava_eprop.nir_export import write_nir

    write_nir(_output_file(output), load_network(network), weights)
    click.echo(f"wrote {output} ({weights} weights)")


@cli.command("run")
@click.argument("network", metavar="NETWORK.npz", type=NETWORK_ARG)
@click.option("--inputs", "inputs_path", required=True, type=NonEmptyPath(path_type=Path),
              help="An .npz with 'inputs': 0/1 spikes [trials, T, n_in], optionally "
                   "'targets': class labels [trials] or signals [trials, T, n_out].")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              default=None, help="Output directory (default: NETWORK's directory/inference).")
@click.option("--hw", is_flag=True, help="Run on Loihi 2 (Loihi2HwCfg; needs lava-loihi).")
@click.option("--no-compare", is_flag=True,
              help="Skip the fast-engine run that checks the Lava outputs bit for bit.")
def run(network, inputs_path, out_dir, hw, no_compare):
    """Run a trained network on input spikes with learning off (the Lava graph,
    fixed-point models); write outputs.npz (z, readout_v, readout) and summary.json.
    When the inputs file also holds 'targets' (class labels [trials] or signals
    [trials, T, n_out]), print and record the task score."""
    from lava_eprop.api import run as run_network
    from lava_eprop.deploy import default_out_dir

    require_lava("run")
    out = out_dir if out_dir is not None else default_out_dir(network, "inference")
    result = run_network(network, inputs_path, out, hardware=hw, compare=not no_compare)
    if result.score is not None:
        click.echo(f"{result.summary['trials']} trials: {_score_text(result.score)}")
    click.echo(f"wrote {out}/outputs.npz, summary.json")


def _score_text(score: dict) -> str:
    return ", ".join(f"{'NMSE' if k == 'nmse' else k} {v:.4g}" for k, v in score.items())


@cli.command("deploy")
@click.argument("network", metavar="NETWORK.npz", type=NETWORK_ARG)
@click.option("--learn", is_flag=True, help="Learn on chip during the trial (e-prop rules) "
              "and save the learned network.npz.")
@click.option("--sim", is_flag=True, help="Run in the simulator (Loihi2SimCfg) instead of "
              "Loihi 2 hardware.")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              default=None, help="Output directory (default: NETWORK's directory/deploy).")
def deploy_cmd(network, learn, sim, out_dir):
    """Run a trained network on Loihi 2 (Loihi2HwCfg) on a held-out trial of its task;
    --sim runs the same graph in Loihi2SimCfg. Prints the trial's task score; writes
    outputs.npz and summary.json."""
    from lava_eprop.deploy import default_out_dir, deploy
    from lava_eprop.network_file import load_network

    require_lava("deploy")
    out = out_dir if out_dir is not None else default_out_dir(network, "deploy")
    result = deploy(load_network(network), network, out, learn=learn, sim=sim)
    click.echo(f"held-out trial of {result.summary['task']}: {_score_text(result.score)}")
    click.echo(f"wrote {out}/outputs.npz, summary.json" + (", network.npz" if learn else ""))

# ----------------------------------------------------------- quant-report
def _key_values(option: str, items) -> dict:
    """``KEY=VALUE`` options -> dict, values read as YAML scalars; UserError if malformed."""
    from lava_eprop.loaders import parse_yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} '{item}' is malformed (allowed: KEY=VALUE, e.g. "
                            f"{option} delay=100)")
        try:
            out[key.strip()] = parse_yaml(value, f"{option} '{item}'")
        except UserError:
            raise UserError(f"{option} '{item}': cannot read the value (allowed: a number, "
                            "a word or a [list])") from None
    return out


@cli.command("quant-report", epilog=CONFIG_HELP)
@click.argument("config_or_preset", metavar="CONFIG_OR_PRESET")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              required=True, help="Output directory (created if missing).")
@click.option("--iterations", type=click.IntRange(min=0), default=10, show_default=True,
              help="Training iterations of each model before the final evaluation.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trials per iteration (all learn online, one after another).")
@click.option("--eval-trials", type=click.IntRange(min=1), default=16, show_default=True,
              help="Held-out trials of the initial and final evaluations.")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=None,
              help="Seed of weights and trials (default: training.seed).")
@click.option("--task", "task_items", multiple=True, metavar="KEY=VALUE",
              help="Override a task key for shorter trials, e.g. --task delay=100 "
                   "--task n_cues=3 (repeatable; stated in the JSON).")
@click.option("--fail-over", "fail_items", multiple=True, metavar="METRIC=VALUE",
              help="Exit with status 1 if METRIC is worse than VALUE (repeatable). Worse is "
                   "above for rmse, van_rossum, final_loss, final_nmse, saturation.total; "
                   "below for spike_agreement, dw_cosine_min, final_accuracy. Metrics: "
                   "{paper_vs_twin,twin_vs_fixed,paper_vs_fixed}.{readout_rmse,membrane_rmse,"
                   "spike_agreement,van_rossum,dw_cosine_min}, {paper,twin,fixed}.{final_loss,"
                   "final_nmse|final_accuracy}, saturation.total.")
@set_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def quant_report(config_or_preset, out_dir, iterations, batch_size, eval_trials, seed,
                 task_items, fail_items, settings, quiet):
    """Quantization error: the paper model, its fixed-point twin in float, and the
    fixed-point network, on the same inputs from the same weights.

    \b
    quant_report.json  per pair (paper_vs_twin: model mismatch, twin_vs_fixed:
                       quantization, paper_vs_fixed): readout and membrane RMSE
                       per step, spike agreement, van Rossum distance, cosine
                       of the weight updates per projection; per model the
                       held-out loss, NMSE or accuracy and firing rate before
                       and after online training; saturation counts; the
                       settings
    errors.png, readouts.png, rasters.png, dw_cosine.png, training.png
    """
    from lava_eprop.api import quant_report as report_quantization
    from lava_eprop.quant.metrics import parse_bounds

    result = report_quantization(
        config_or_preset, out_dir, iterations=iterations, batch_size=batch_size,
        eval_trials=eval_trials, seed=seed, task=_key_values("--task", task_items),
        settings=settings, fail_over=parse_bounds(fail_items), progress=not quiet)
    click.echo(result.table, nl=False)
    click.echo(f"wrote {out_dir}/{', '.join(result.files)}")
    for line in result.violations:
        click.echo(f"fail-over: {line}", err=True)
    if result.violations:
        sys.exit(1)


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"warning: {message}", err=True)


def main(argv=None) -> None:
    """Entry point: run the CLI, turning user errors into one line and exit status 2,
    and printing each warning as one ``warning: ...`` line."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line
            cli.main(args=argv, prog_name="lava-eprop", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())
        sys.exit(0)
    except click.UsageError as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except NumericalError as exc:
        click.echo(f"error: numerical fault: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:                  # a path the user gave cannot be read or written
        if exc.filename is None:
            raise
        click.echo(f"error: cannot use '{exc.filename}': {exc.strerror or exc} (allowed: a "
                   "readable file, or a directory path whose parents are writable "
                   "directories)", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
