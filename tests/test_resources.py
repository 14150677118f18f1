"""The memory estimate is realistic, and runs that would not fit are refused up front."""
import json
import subprocess
import sys

import pytest

from lava_eprop import config
from lava_eprop.errors import UserError
from lava_eprop.resources import check_memory, estimate_bytes
from test_cli import cli

MEASURE = """
import json, sys, tracemalloc
from lava_eprop import config
from lava_eprop.reference.train import train_float
from lava_eprop.tasks import make_task
cfg = config.from_dict(json.loads(sys.argv[1]))
task = make_task(cfg)
tracemalloc.start()   # NumPy reports its array buffers to tracemalloc
train_float(cfg, task, progress=False)
print(json.dumps({"grown": tracemalloc.get_traced_memory()[1]}))
"""


def test_estimate_is_within_a_factor_of_two_of_the_measured_peak():
    raw = {"task": {"name": "evidence-accumulation", "delay": 300},
           "network": {"n_rec": 100, "neuron": "alif"},
           "training": {"batch_size": 48, "eval_trials": 48, "iterations": 1}}
    res = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(raw)], capture_output=True,
                         text=True, timeout=600)
    grown = json.loads(res.stdout.strip().splitlines()[-1])["grown"]
    cfg = config.from_dict(raw)
    estimate = estimate_bytes(cfg, 40, 50 + 6 * 150 + 100 + 300 + 150)
    assert 0.5 * grown < estimate < 2.0 * grown, (estimate, grown)


def test_a_run_that_does_not_fit_is_refused_with_the_estimate():
    cfg = config.from_dict({"task": {"name": "store-recall"},
                            "training": {"batch_size": 1024, "eval_trials": 1024}})
    with pytest.raises(UserError, match=r"needs about \d+\.\d GiB .* more than 80% of the "
                                        r"1\.0 GiB available"):
        check_memory(cfg, 40, 600, available=2**30)
    assert check_memory(cfg, 40, 600, available=2**40) > 2**30


def test_cli_refuses_a_huge_run_before_training(tmp_path):
    (tmp_path / "huge.yaml").write_text(
        "task: {name: pattern-generation, n_steps: 100000}\n"
        "training: {batch_size: 4096, eval_trials: 4096}\n")
    res = cli("train", tmp_path / "huge.yaml", "--out", tmp_path / "out")
    assert res.returncode == 2 and "GiB available" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
