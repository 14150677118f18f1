"""A task type is one module of ``lava_eprop/tasks`` and one preset file.

The test adds a small task (``ramp``) to a copy of the package, as a
developer would, and checks that the configs, their checks, the generated
reference, the CLI, the compiler's sizes and training pick it up from those
two files alone.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RAMP_MODULE = '''"""Ramp: every input channel fires at the first step; the target rises from 0 to 1."""
import numpy as np

from lava_eprop.errors import UserError
from lava_eprop.schema import Field
from lava_eprop.tasks.base import Batch, Shape, Task


class Ramp(Task):
    name = "ramp"
    kind = "regression"
    n_out = 1
    schema = {
        "n_in": Field("int", 4, "input channels", lo=1, hi=64),
        "n_steps": Field("int", 20, "time steps per trial", lo=2, hi=1000),
    }

    @staticmethod
    def check(task):
        if task["n_in"] > task["n_steps"]:
            raise UserError(f"task.n_in = {task['n_in']} exceeds task.n_steps")

    @staticmethod
    def shape(task, dt_ms):
        return Shape(task["n_in"], 1, task["n_steps"])

    def __init__(self, task, dt_ms):
        self.n_in, self.n_steps = task["n_in"], task["n_steps"]

    def sample(self, size, rng):
        inputs = np.zeros((size, self.n_steps, self.n_in))
        inputs[:, 0] = 1.0
        ramp = np.linspace(0.0, 1.0, self.n_steps)
        return Batch(inputs, np.tile(ramp[None, :, None], (size, 1, 1)),
                     np.ones((size, self.n_steps), dtype=bool))
'''

RAMP_PRESET = ("task: {name: ramp, n_in: 6}\nnetwork: {n_rec: 8}\ntraining: {iterations: 2}\n"
               "fixed_point: {input_rate_hz: 50.0}\n")

PROBE = '''
import json, sys
import numpy as np
from compilers.setup import io_sizes
from lava_eprop import config, train
from lava_eprop.cli import main
from lava_eprop.errors import UserError
from lava_eprop.tasks import make_task

cfg = config.load("ramp")
refusals = []
for task in ({"name": "ramp", "n_in": 30}, {"name": "ramp", "n_cues": 3}):
    try:
        config.from_dict({"task": task})
    except UserError as exc:
        refusals.append(str(exc))
batch = make_task(cfg).sample(2, np.random.default_rng(0))
run = train(cfg, engine="fixed", progress=False)
try:
    main(["presets"])
except SystemExit:
    pass
print(json.dumps({
    "presets": list(config.PRESETS), "task": dict(cfg.task), "refusals": refusals,
    "in_reference": "## task, name: ramp" in config.schema_markdown(),
    "io_sizes": list(io_sizes(cfg)), "batch": [list(batch.inputs.shape),
                                               list(batch.targets.shape)],
    "w_out": list(run.weights.w_out.shape)}))
'''


def test_a_task_module_and_a_preset_file_add_a_task_type(tmp_path):
    package = tmp_path / "lava_eprop"
    shutil.copytree(ROOT / "lava_eprop", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "tasks" / "ramp.py").write_text(RAMP_MODULE)
    (package / "presets" / "ramp.yaml").write_text(RAMP_PRESET)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         env=env, cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stderr
    listing, found = res.stdout.strip().rsplit("\n", 1)
    found = json.loads(found)
    assert "ramp" in found["presets"] and "ramp" in listing
    assert found["task"] == {"name": "ramp", "n_in": 6, "n_steps": 20}
    assert found["refusals"][0] == "task.n_in = 30 exceeds task.n_steps"
    assert found["refusals"][1].startswith("unknown key 'task.n_cues' (allowed in task: name, "
                                           "n_in, n_steps)")
    assert found["in_reference"]
    assert found["io_sizes"] == [6, 1]
    assert found["batch"] == [[2, 20, 6], [2, 20, 1]]
    assert found["w_out"] == [1, 8]
