"""SIGKILL at random moments, then resume: the result equals the uninterrupted run's.

A run of the command line is forked from the test process (so it starts at
once, with everything imported and compiled) and killed with SIGKILL after a
random fraction of the uninterrupted run's duration: during start-up, an
iteration, an evaluation, a checkpoint or an output being written, or after
it ended. The same command with ``--resume`` (or, killed before its first
checkpoint, without) must then end with the uninterrupted run's weights and
``metrics.json`` (curves, losses, saturation counts), and leave no temporary
file. The kill fractions come from a fixed seed; where the kill lands also
depends on the machine's speed, which is the point: a different moment every
run.
"""
import json
import os
import signal
import threading
import time

import numpy as np
import pytest
from tqdm import tqdm
from support import CHECKPOINT_CONFIG, assert_same_run, main_in_process, temporaries

KILLS_PER_ENGINE = 6
CONFIG = (CHECKPOINT_CONFIG.replace("iterations: 120", "iterations: 60")
          .replace("n_steps: 300", "n_steps: 80").replace("eval_every: 7", "eval_every: 5"))


def killed_at(args, delay: float) -> int:
    """Run ``lava-eprop ARGS`` in a forked child, SIGKILL it after ``delay`` seconds (if
    it still runs); its exit status, negative for a signal."""
    pid = os.fork()
    if pid == 0:                                   # the child: the command, then out
        code = 1
        try:
            # tqdm's write lock holds a semaphore shared with the parent across the
            # fork: a child killed while holding it (creating a bar) would block
            # the parent's next bar for ever; the child takes a lock of its own
            tqdm.set_lock(threading.RLock())
            code, _ = main_in_process(*args)
        finally:
            os._exit(code)
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)                   # a child that ended is a zombie: no error
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("engine", ["float", "fixed"])
def test_runs_killed_at_random_moments_resume_to_the_uninterrupted_result(tmp_path, engine):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG + ("fixed_point: {input_rate_hz: 200.0}\n"   # saturation to count
                             if engine == "fixed" else ""))
    args = ["train", cfg, "--engine", engine, "--checkpoint-every", 2, "--quiet"]
    assert main_in_process(*args, "--out", tmp_path / "whole")[0] == 0   # imports, compiles
    start = time.perf_counter()
    assert main_in_process(*args, "--out", tmp_path / "warm")[0] == 0
    duration = time.perf_counter() - start                  # what a forked run takes
    assert_same_run(tmp_path / "whole", tmp_path / "warm")
    rng = np.random.default_rng([19, len(engine)])
    outcomes = []
    for trial, fraction in enumerate(rng.uniform(0.0, 1.1, KILLS_PER_ENGINE)):
        out = tmp_path / f"killed{trial}"
        code = killed_at([*args, "--out", out], fraction * duration)
        assert code in (0, -signal.SIGKILL), f"trial {trial}: exit {code}"
        resumable = (out / "checkpoint.npz").exists()
        outcomes.append((round(fraction, 2), code, resumable, temporaries(out)
                         if out.exists() else None))
        again = [*args, "--out", out] + (["--resume", out] if resumable else [])
        code, err = main_in_process(*again)
        assert code == 0, f"trial {trial} ({outcomes[-1]}): {err}"
        assert_same_run(tmp_path / "whole", out)
        assert temporaries(out) == [], f"trial {trial} ({outcomes[-1]})"
    print(engine, "kills (fraction, exit, checkpoint, temporaries):", outcomes)
    if engine == "fixed":
        assert json.loads((tmp_path / "whole" / "metrics.json").read_text())["saturation"][
            "total"] > 0
