"""Helpers shared by several test modules (import as ``from support import ...``)."""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import warnings

import numpy as np

from lava_eprop.config import from_dict
from lava_eprop.reference.params import init_weights, net_params


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """Run ``lava-eprop ARGS`` in a new Python process; its output is captured as text."""
    return subprocess.run([sys.executable, "-m", "lava_eprop.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def main_in_process(*args) -> tuple[int, str]:
    """Run ``lava-eprop ARGS`` in this process; return the exit status and stderr."""
    from lava_eprop.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


# ------------------------------------------------------------ checkpoint and resume
#: a small run whose resume exercises every part of the state: Adam's moments,
#: adaptive feedback, the regulariser, the learning-rate schedule, evaluations
CHECKPOINT_CONFIG = (
    "task: {name: pattern-generation, n_in: 30, n_steps: 300}\n"
    "network: {n_rec: 40, v_th: 0.03, tau_m: 30.0, input_scaling: true, tau_out: 30.0}\n"
    "training: {iterations: 120, eval_every: 7, reg_coeff: 100.0, "
    "learning_rate: 0.003, lr_decay: 0.5, lr_decay_every: 40, feedback: adaptive}\n")
#: metrics that measure the machine, not the run
TIMING_METRICS = ("seconds", "steps_per_second")


def assert_same_run(whole, resumed) -> None:
    """The run in ``resumed`` equals the one in ``whole``: weights bit for bit, and
    ``metrics.json`` (curves, losses, saturation counts) but for its timings."""
    with np.load(whole / "network.npz") as a, np.load(resumed / "network.npz") as b:
        for key in ("w_in", "w_rec", "w_out", "fb"):
            np.testing.assert_array_equal(a[key], b[key])
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (whole, resumed))
    for key in TIMING_METRICS:
        ma.pop(key), mb.pop(key)
    assert ma == mb


def temporaries(directory) -> list[str]:
    """The hidden (temporary) files in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------ small networks
def small_config(neuron="lif", feedback="symmetric", **network):
    net = dict(n_rec=12, neuron=neuron, tau_m=10.0, tau_a=50.0, v_th=0.3, w_in_scale=3.0,
               w_rec_scale=1.0)
    net.update(network)
    return from_dict({"task": {"name": "pattern-generation"}, "network": net,
                      "training": {"feedback": feedback}})


def small_problem(cfg, kind, seed=1, batch=3, steps=40, n_in=7, n_out=3):
    """Weights, params, inputs, targets and mask of a small random problem."""
    rng = np.random.default_rng(seed)
    p = net_params(cfg)
    w = init_weights(cfg, n_in, n_out, rng)
    w.b_out[:] = 0.1 * rng.standard_normal(n_out)
    x = (rng.random((batch, steps, n_in)) < 0.2).astype(float)
    if kind == "regression":
        targets = rng.standard_normal((batch, steps, n_out))
        mask = np.ones((batch, steps), dtype=bool)
    else:
        targets = rng.integers(0, n_out, (batch, steps))
        mask = np.zeros((batch, steps), dtype=bool)
        mask[:, -10:] = True
    return w, p, x, targets, mask
