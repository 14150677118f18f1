"""The ``lava-eprop`` command line.

User mistakes (bad config, missing file, bad option) print one line,
``error: ...``, on stderr and exit with status 2, without a traceback; a
numerical fault during training prints one line and exits with status 1.
Outputs are written atomically, and only once a run has succeeded.
"""
from __future__ import annotations

import sys
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


CONFIG_HELP = (f"CONFIG_OR_PRESET: a preset ({', '.join(PRESETS)}) or the path of a YAML "
               "config (docs/config.md).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lava-eprop")
def cli():
    """e-prop (eligibility propagation, Bellec et al. 2020) for recurrent spiking
    networks on Loihi 2 through Lava: training in float, on chip in the
    bit-exact fast engine or as Lava processes (train); Loihi 2 microcode
    learning rules (export-rule, show-rule); the quantization error of the
    fixed-point model (quant-report); deployment of trained networks (run,
    export-netx, deploy) and export to NIR (export-nir). Lava's runtime (train
    --engine lava, run, deploy) needs Python 3.10 with lava-nc; the rest runs on
    Python 3.10-3.13. Tutorials: tutorials/01_quickstart.ipynb ff."""


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
                   "also per-trial SGD at the chip's learning rate in float units (times the "
                   "error steps per trial for classification), the float baseline of an "
                   "on-chip run with the same seed and trials.")
@click.option("--set", "settings", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override one config key (repeatable), e.g. --set training.batch_size=1.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config_or_preset, engine, method, iterations, seed, out_dir, checkpoint_every,
          resume_dir, init_path, force, overflow, chip, settings, quiet):
    """Train a network and write metrics.json, network.npz and plots to --out.

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
    Continue a float-trained network on chip:
      lava-eprop train CONFIG --engine float --out runs/x
      lava-eprop train CONFIG --engine fixed --init runs/x/network.npz --out runs/y
    """
    from lava_eprop import config as config_mod
    from lava_eprop.runs import run_training

    if engine == "lava":
        require_lava("train --engine lava")
    cfg = config_mod.load(config_or_preset).with_settings(settings).with_overrides(
        method=method, iterations=iterations, seed=seed)
    metrics = run_training(cfg, engine, out_dir, progress=not quiet,
                           checkpoint_every=checkpoint_every, resume_dir=resume_dir,
                           overflow=overflow, init=init_path, force=force, chip=chip)
    click.echo(f"wrote {out_dir}/metrics.json, network.npz, "
               + ("checkpoint.npz, " if checkpoint_every else "")
               + "loss.png, raster.png, readout.png")
    saturation = metrics.get("saturation")
    if "saturation_note" in metrics:
        click.echo(f"note: fixed-point saturation {metrics['saturation_note']}", err=True)
    if saturation and saturation["total"]:
        top = sorted(saturation["counts"].items(), key=lambda kv: -kv[1])[:3]
        click.echo(f"note: {saturation['total']} fixed-point saturation/wrap events ("
                   + ", ".join(f"{k} {n}" for k, n in top if n)
                   + "); see metrics.json saturation", err=True)


@cli.command("export-rule", epilog=CONFIG_HELP)
@click.argument("config_or_preset", metavar="CONFIG_OR_PRESET")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="Document format (same content).")
@click.option("-o", "--output", "output", type=NonEmptyPath(dir_okay=False, path_type=Path),
              default=None, help="Write here (atomically) instead of stdout.")
def export_rule(config_or_preset, fmt, output):
    """Compile e-prop into Loihi 2 learning rules and fixed-point parameters.

    Writes a versioned document (schema version, lava-nc version, per projection
    the Loihi3FLearningRule strings, x1 impulse and tau, t_epoch, widths and
    exponents; per neuron group the fixed-point parameters; the approximation
    errors). Load it back into Lava with compilers.load_rules(path).
    """
    from compilers.export import export_rules

    text, messages = export_rules(config_or_preset, fmt, output)
    for message in messages:
        click.echo(f"warning: {message}", err=True)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)


@cli.command("show-rule", epilog=CONFIG_HELP)
@click.argument("config_or_preset", metavar="CONFIG_OR_PRESET")
def show_rule(config_or_preset):
    """Print the compiled Loihi 2 rules and parameters as a readable table."""
    from compilers.export import compile_config, show

    plan, messages = compile_config(config_or_preset)
    for message in messages:
        click.echo(f"warning: {message}", err=True)
    click.echo(show(plan), nl=False)


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
    scales) are printed as notes; see README, Deploy.
    """
    from lava_eprop.inference import integer_spec
    from lava_eprop.network_file import load_network
    from lava_eprop.netx_export import write_netx

    spec = integer_spec(load_network(network))
    export = write_netx(_output_file(output), spec)
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
              help="An .npz with 'inputs': 0/1 spikes [trials, T, n_in].")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              default=None, help="Output directory (default: NETWORK's directory/inference).")
@click.option("--hw", is_flag=True, help="Run on Loihi 2 (Loihi2HwCfg; needs lava-loihi).")
@click.option("--no-compare", is_flag=True,
              help="Skip the fast-engine run that checks the Lava outputs bit for bit.")
def run(network, inputs_path, out_dir, hw, no_compare):
    """Run a trained network on input spikes with learning off (the Lava graph,
    fixed-point models); write outputs.npz (z, readout_v, readout) and summary.json."""
    from lava_eprop.deploy import run_inference
    from lava_eprop.inference import load_inputs
    from lava_eprop.network_file import load_network

    require_lava("run")
    net = load_network(network)
    inputs = load_inputs(inputs_path, net.weights.w_in.shape[1])
    out = run_inference(net, network, inputs, out_dir, hardware=hw, compare=not no_compare)
    click.echo(f"wrote {out}/outputs.npz, summary.json")


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
    --sim runs the same graph in Loihi2SimCfg. Writes outputs.npz and summary.json."""
    from lava_eprop.deploy import deploy
    from lava_eprop.network_file import load_network

    require_lava("deploy")
    out = deploy(load_network(network), network, out_dir, learn=learn, sim=sim)
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
@click.option("--quiet", is_flag=True, help="No progress bar.")
def quant_report(config_or_preset, out_dir, iterations, batch_size, eval_trials, seed,
                 task_items, fail_items, quiet):
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
    from lava_eprop.io import check_output_dir
    from lava_eprop.quant import metrics as qm
    from lava_eprop.quant.report import (
        Settings,
        load_config,
        quant_report,
        table,
        write_report,
    )
    from lava_eprop.tasks import make_task

    check_output_dir(out_dir)
    bounds = qm.parse_bounds(fail_items)
    overrides = _key_values("--task", task_items)
    cfg = load_config(config_or_preset, overrides)
    qm.check_names(bounds, make_task(cfg).kind)
    settings = Settings(iterations=iterations, batch_size=batch_size, eval_trials=eval_trials,
                        seed=cfg.training.seed if seed is None else seed,
                        task_overrides=overrides)
    report, probe = quant_report(cfg, settings, progress=not quiet)
    failed = qm.violations(report["metrics"], bounds, report["kind"])
    report["fail_over"] = {"bounds": bounds, "violations": failed}
    names = write_report(out_dir, report, probe, cfg.network.dt)
    click.echo(table(report), nl=False)
    click.echo(f"wrote {out_dir}/{', '.join(names)}")
    for line in failed:
        click.echo(f"fail-over: {line}", err=True)
    if failed:
        sys.exit(1)


def main(argv=None) -> None:
    """Entry point: run the CLI, turning user errors into one line and exit status 2."""
    try:
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
