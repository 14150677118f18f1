"""Memory estimates are realistic, and every command that simulates refuses a run that
would not fit before it builds the task or allocates anything large."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from support import main_in_process

from lava_eprop import config
from lava_eprop.errors import UserError
from lava_eprop.network_file import TrainedNetwork, save_network
from lava_eprop.reference.params import init_weights
from lava_eprop.resources import (
    check_memory,
    inference_estimate,
    quant_report_estimate,
    training_estimate,
)
from lava_eprop.tasks import Shape, task_shape
from lava_eprop.tasks.dataset import NpzDataset
from lava_eprop.tasks.pattern import PatternGeneration

# Peak of the arrays a command allocates, measured with tracemalloc (NumPy reports
# its buffers to it) in a fresh process; numba's compilation (or loading of the
# compiled code) runs before it starts.
MEASURE = """
import json, sys, tracemalloc, warnings
import numpy as np
warnings.simplefilter("ignore")
from lava_eprop import config
from lava_eprop.tasks import make_task
kind = sys.argv[1]
cfg = config.from_dict(json.loads(sys.argv[2])) if kind != "run" else None
if kind == "float":
    from lava_eprop.training.reference import train_float
    train_float(cfg.with_overrides(eval_trials=1), make_task(cfg), progress=False)
    task = make_task(cfg)
    tracemalloc.start()
    train_float(cfg, task, progress=False)
elif kind == "fixed":
    from lava_eprop.training.onchip import train_fixed
    train_fixed(cfg.with_overrides(eval_trials=1), make_task(cfg), progress=False)
    task = make_task(cfg)
    tracemalloc.start()
    train_fixed(cfg, task, progress=False)
elif kind == "quant-report":
    from lava_eprop.quant.report import Settings, quant_report
    quant_report(cfg, Settings(iterations=1, eval_trials=1), progress=False)
    tracemalloc.start()
    quant_report(cfg, Settings(iterations=1, eval_trials=int(sys.argv[3])), progress=False)
else:
    from lava_eprop.inference import integer_spec, load_inputs, readout_values, run_fast
    from lava_eprop.network_file import load_network
    net = load_network(sys.argv[3])
    spec = integer_spec(net)
    n_rec, n_in = net.weights.w_in.shape
    run_fast(spec, np.zeros((1, 2, n_in), np.int64))
    tracemalloc.start()
    trace = run_fast(spec, load_inputs(sys.argv[4], n_in, n_rec, 1))
    lava = {k: np.stack(list(v)) for k, v in trace.items()}    # run_lava's trials stacked
    outputs = (trace["z"].astype(np.uint8), readout_values(spec, trace["readout_v"]))
print(json.dumps({"peak": tracemalloc.get_traced_memory()[1]}))
"""

STORE_RECALL = {"task": {"name": "store-recall", "n_in": 200, "window_steps": 50},
                "network": {"n_rec": 60, "neuron": "alif"},
                "training": {"batch_size": 8, "eval_trials": 32, "iterations": 1}}
# held-out trials four times the evaluation chunk (float reference and fast engine)
EVIDENCE = {"task": {"name": "evidence-accumulation", "delay": 200},
            "network": {"n_rec": 60, "neuron": "alif", "n_adaptive": 30},
            "training": {"batch_size": 8, "eval_trials": 128, "iterations": 1}}


def measured_peak(*args) -> int:
    res = subprocess.run([sys.executable, "-c", MEASURE, *map(str, args)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])["peak"]


@pytest.mark.parametrize(("kind", "raw"), [("float", STORE_RECALL), ("fixed", STORE_RECALL),
                                           ("float", EVIDENCE), ("fixed", EVIDENCE)])
def test_training_estimate_is_within_a_factor_of_two_of_the_measured_peak(kind, raw):
    peak = measured_peak(kind, json.dumps(raw))
    estimate = training_estimate(config.from_dict(raw), kind).nbytes
    assert 0.5 * peak < estimate < 2.0 * peak, (estimate, peak)


def test_quant_report_estimate_is_within_a_factor_of_two_of_the_measured_peak():
    peak = measured_peak("quant-report", json.dumps(STORE_RECALL), 32)
    estimate = quant_report_estimate(config.from_dict(STORE_RECALL), 32).nbytes
    assert 0.5 * peak < estimate < 2.0 * peak, (estimate, peak)


def test_run_estimate_is_within_a_factor_of_two_of_the_measured_peak(tmp_path):
    cfg = config.from_dict({"task": {"name": "pattern-generation", "n_in": 30},
                            "network": {"n_rec": 80}})
    save_network(tmp_path / "net.npz",
                 TrainedNetwork(cfg, init_weights(cfg, 30, 1, np.random.default_rng(0)), "float"))
    x = np.random.default_rng(1).random((40, 500, 30)) < 0.1
    np.savez(tmp_path / "in.npz", inputs=x)
    peak = measured_peak("run", "{}", tmp_path / "net.npz", tmp_path / "in.npz")
    estimate = inference_estimate(80, Shape(30, 1, 500), 40).nbytes
    assert 0.5 * peak < estimate < 2.0 * peak, (estimate, peak)


def test_a_dataset_shape_comes_from_its_headers(tmp_path):
    np.savez(tmp_path / "d.npz", inputs=np.zeros((6, 9, 4), np.float32),
             targets=np.array([0, 4, 1, 2, 0, 1]))
    cfg = config.from_dict({"task": {"name": "dataset", "path": str(tmp_path / "d.npz")},
                            "fixed_point": {"input_rate_hz": 10.0}})
    shape = task_shape(cfg)
    assert (shape.n_in, shape.n_out, shape.n_steps, shape.n_samples) == (4, 5, 9, 6)
    assert shape.data_bytes >= 6 * 9 * 4 * (4 + 8)     # as read and as float64


def test_a_run_that_does_not_fit_is_refused_with_the_estimate():
    """The float reference simulates the batch's trials at once, and the held-out
    trials in chunks of as many."""
    cfg = config.from_dict({"task": {"name": "store-recall"},
                            "training": {"batch_size": 1024, "eval_trials": 1024}})
    estimate = training_estimate(cfg, "float")
    with pytest.raises(UserError, match=r"^this run needs about \d+\.\d GiB \(1024 trials x 600 "
                                        r"steps x 100 neurons at once\), more than 80% of the "
                                        r"1\.0 GiB available; lower training\.batch_size"):
        check_memory(estimate, available=2**30)
    assert check_memory(estimate, available=2**40) == estimate.nbytes > 2**30


@pytest.fixture
def one_mib_available(monkeypatch):
    """The machine has 1 MiB free, and building a task fails the test: a refusal must
    come from the estimate, before it."""
    monkeypatch.setattr("lava_eprop.resources.available_bytes", lambda: 2**20)

    def built(*args, **kwargs):
        raise AssertionError("the task was built before the memory check")

    for task in (PatternGeneration, NpzDataset):     # the tasks these tests name
        monkeypatch.setattr(task, "__init__", built)
    return built


@pytest.fixture
def network(tmp_path):
    cfg = config.from_dict({"task": {"name": "pattern-generation", "n_in": 10,
                                     "n_steps": 100000}, "network": {"n_rec": 50}})
    path = tmp_path / "net.npz"
    save_network(path, TrainedNetwork(cfg, init_weights(cfg, 10, 1, np.random.default_rng(0)),
                                      "float"))
    return path


@pytest.mark.parametrize("command", [
    ["train", "{cfg}", "--engine", "float"], ["train", "{cfg}", "--engine", "fixed"],
    pytest.param(["train", "{cfg}", "--engine", "lava"], marks=pytest.mark.lava),
    ["train", "{cfg}", "--chip-regime"],
    ["quant-report", "{cfg}", "--eval-trials", "64"]])
def test_commands_refuse_a_run_that_does_not_fit_before_building_the_task(
        tmp_path, one_mib_available, command):
    (tmp_path / "c.yaml").write_text("task: {name: pattern-generation, n_steps: 20000}\n"
                                     "training: {eval_trials: 64}\n")
    args = [a.format(cfg=tmp_path / "c.yaml") for a in command] + ["--out", tmp_path / "o"]
    code, err = main_in_process(*args)
    assert code == 2 and err.startswith("error: this run needs about ")
    assert "more than 80% of the 1.0 MiB available" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.lava  # run needs Lava's runtime
def test_run_refuses_inputs_that_do_not_fit_before_reading_them(tmp_path, network,
                                                                one_mib_available,
                                                                monkeypatch):
    from lava_eprop.loaders import NpzArchive

    read = NpzArchive.array

    def array(self, name, *args, **kwargs):
        assert name != "inputs", "the inputs were read before the memory check"
        return read(self, name, *args, **kwargs)

    monkeypatch.setattr(NpzArchive, "array", array)
    np.savez(tmp_path / "in.npz", inputs=np.zeros((20, 1000, 10), bool))
    code, err = main_in_process("run", network, "--inputs", tmp_path / "in.npz",
                                "--out", tmp_path / "o")
    assert code == 2 and "this run needs about" in err and "(20 trials x 1000 steps x 50 " \
        "neurons at once)" in err and "lower the trials or steps of the inputs" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.lava  # deploy needs Lava's runtime
def test_deploy_refuses_a_task_that_does_not_fit_before_building_it(tmp_path, network,
                                                                    one_mib_available):
    code, err = main_in_process("deploy", network, "--sim", "--out", tmp_path / "o")
    assert code == 2 and "(1 trials x 100000 steps x 50 neurons at once)" in err
    assert not (tmp_path / "o").exists()


def test_a_dataset_too_large_to_load_is_refused_before_it_is_built(tmp_path,
                                                                   one_mib_available):
    np.savez(tmp_path / "d.npz", inputs=np.zeros((100, 100, 20)), targets=np.arange(100) % 2)
    (tmp_path / "c.yaml").write_text(f"task: {{name: dataset, path: '{tmp_path / 'd.npz'}'}}\n"
                                     "fixed_point: {input_rate_hz: 10}\n"
                                     "training: {eval_trials: 1}\n")
    code, err = main_in_process("train", tmp_path / "c.yaml", "--out", tmp_path / "o")
    assert code == 2 and "MiB available" in err and err.count("\n") == 1
    need = float(re.search(r"needs about ([\d.]+) MiB", err).group(1))
    assert need > 100 * 100 * 20 * (8 + 8) / 2**20   # the inputs as read and as float64
