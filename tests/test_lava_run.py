"""Lava's stock run configs run the product's graph: the models sit beside their processes.

A stock ``Loihi2SimCfg(select_tag="fixed_pt")`` finds the models of this
package's processes by Lava's own discovery; only the stochastic model of
Lava's ``LearningDense`` is named, in Lava's ``exception_proc_model_map``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import LearningDense

from compilers import compile_plan
from lava_eprop.config import from_dict, preset_dict
from lava_eprop.engine.network import FastNetwork
from lava_eprop.engine.spec import network_spec
from lava_eprop.errors import UserError
from lava_eprop.lava_graph import LavaGraph
from lava_eprop.lava_run import run_config
from lava_eprop.reference.params import init_weights
from process_models.learning_dense.models import PyLearningDenseModelStochastic

ROOT = Path(__file__).resolve().parents[1]
N_IN = 12
RECORD = ("z", "v", "b", "y3", "readout_v", "e", "input->alif.weights",
          "recurrent->lif.weights", "recurrent->readout.weights", "input->alif.tag_2")


def _small_lif_alif_problem(rounding: str, steps: int = 60):
    """A learning LIF+ALIF classifier (4 + 4 neurons), its spec and one trial."""
    raw = preset_dict("evidence-accumulation")
    raw["task"]["n_in"] = N_IN
    raw["network"].update(n_rec=8, neuron="alif", n_adaptive=4, tau_a=200.0)
    raw.setdefault("fixed_point", {})["rounding"] = rounding
    cfg = from_dict(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(cfg)
    rng = np.random.default_rng(3)
    weights = init_weights(cfg, N_IN, 2, rng)
    spec = network_spec(cfg, plan, weights, N_IN, 2, True, n_steps=steps)
    inputs = (rng.random((steps, N_IN)) < 0.2).astype(np.int64)
    targets = spec.targets(np.full(steps, 1), steps)
    mask = (np.arange(steps) >= steps // 3).astype(np.int64)
    return spec, inputs, targets, mask


@pytest.mark.parametrize("rounding,stock", [
    ("lava", Loihi2SimCfg(select_tag="fixed_pt")),
    ("stochastic", Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map={
        LearningDense: PyLearningDenseModelStochastic})),
])
def test_stock_loihi2simcfg_runs_the_graph_bit_for_bit_as_run_config(rounding, stock):
    """No map of this package's models: the stock config gives ``run_config``'s integers
    (and the fast engine's) at every step, with learning on."""
    spec, inputs, targets, mask = _small_lif_alif_problem(rounding)
    ours = LavaGraph(spec, inputs, targets, mask).run(record=RECORD)
    theirs = LavaGraph(spec, inputs, targets, mask).run(record=RECORD, run_cfg=stock)
    engine = FastNetwork(spec).run(inputs[None], targets[None], mask[None], record=RECORD)
    for var in RECORD:
        assert np.array_equal(theirs[var], ours[var]), var
        assert np.array_equal(theirs[var], engine[var][:, 0].reshape(theirs[var].shape)), var
    weights = theirs["recurrent->readout.weights"]
    assert theirs["z"].sum() > 0 and not np.array_equal(weights[0], weights[-1])


def test_run_config_names_only_the_stochastic_learning_dense_model(monkeypatch):
    from lava.utils import loihi

    fixed = run_config(rounding="lava")
    assert fixed.select_tag == "fixed_pt" and fixed.exception_proc_model_map == {}
    assert run_config(rounding="stochastic").exception_proc_model_map == {
        LearningDense: PyLearningDenseModelStochastic}
    floats = run_config(fixed=False, rounding="stochastic")
    assert floats.select_tag == "floating_pt" and floats.exception_proc_model_map == {}
    monkeypatch.setattr(loihi, "is_installed", lambda: False)
    with pytest.raises(UserError, match="Loihi 2 hardware support is not installed"):
        run_config(hardware=True)


def test_lava_processes_import_after_a_progress_bar_fixed_the_start_method():
    """A tqdm bar fixes multiprocessing's start method to 'fork'; Lava's runtime
    sets it again on import, which Python refuses unless it was unset."""
    code = ("import multiprocessing as mp\n"
            "from tqdm import tqdm\n"
            "list(tqdm(range(2), disable=True))\n"
            "assert mp.get_start_method(allow_none=True) == 'fork'\n"
            "from lava_eprop.processes import EpropNeuron\n"
            "print(mp.get_start_method(allow_none=True))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "fork"
