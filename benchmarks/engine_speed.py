"""Steps per second of the e-prop Lava graph vs the fast engine, and the machine's limit.

One network (pattern generation, 100 inputs, 100 recurrent LIF, 1 readout,
online learning on), ``--steps`` steps (default 1000): the Lava graph
(``Loihi2SimCfg``, fixed-point models), the fast engine with 1 instance and
with ``--instances`` instances (default 8; steps/s counts network steps of
all instances; the numba kernel's load or compile time is excluded and
printed), at 100 and at 300 recurrent neurons. The fast engine's rates are
per wall-clock second and per CPU-second (``time.process_time``, all
threads: other load on the machine does not count).

The yardstick (:mod:`yardstick`): the recurrent projection's synapse update
at 300 neurons as a plain C kernel on all of numba's threads (OpenMP, one
parallel region), checked bit for bit against the engine's update first. Its
synapse-updates/s is "the limit"; ``ratio_to_limit`` compares the engine's
synapse-updates per CPU-second at 300 neurons and ``--instances`` instances
with the yardstick's (the wall-clock ratio is printed too). The engine's
count is every synapse of every projection at every step. Both sides
record nothing (``record=()``), so both measure the same work: the fast
engine's run is then one compiled call (:mod:`lava_eprop.engine.network_codegen`;
recording the default ``z`` and ``readout_v`` costs well under 1 us a step).
Then the same network and schedule trained by ``lava-eprop train`` both ways
for ``--iterations`` iterations (0: skip it): the float reference (``--engine float``, e-prop
with ``update: online``, one trial per iteration) and the fixed-point engine
(``--engine fixed``), and the ratio of their training times. Prints the
numbers and their ratios; it asserts nothing about time. ``--rounding``
picks the learning-engine model (``fixed_point.rounding``; default the
config's default, ``stochastic``).

    .venv/bin/python benchmarks/engine_speed.py [--steps N] [--iterations K] [--skip-lava]
        [--rounding lava|stochastic] [--instances N]

It ends with one JSON line: ``lava_steps_per_s``, ``fast_steps_per_s`` (1
instance, 100 neurons), ``fast_network_steps_per_s`` (N instances, 100
neurons), ``fast_synapse_updates_per_s`` (N instances, 300 neurons, per
CPU-second), ``limit_synapse_updates_per_s`` (the yardstick, per
CPU-second), ``ratio_to_lava``, ``ratio_to_limit`` and the same at 300
neurons and per wall-clock second under ``*_300`` and ``*_wall`` keys.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

from compilers import compile_plan
from lava_eprop.config import from_dict, preset_dict
from lava_eprop.engine.network import FastNetwork
from lava_eprop.engine.spec import network_spec
from lava_eprop.reference.params import init_weights
from lava_eprop.tasks import make_task
from lava_eprop.training.onchip import train_fixed
from lava_eprop.training.reference import train_float

import numba
from yardstick import Yardstick


ROUNDING = {}   # fixed_point overrides, set from --rounding


def _network(steps: int, seed: int = 0, n_rec: int = 100):
    raw = preset_dict("pattern-generation")
    raw["task"].update(n_in=100, n_steps=steps)
    raw["network"]["n_rec"] = n_rec
    raw.setdefault("fixed_point", {}).update(ROUNDING)
    cfg = from_dict(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(cfg)
    rng = np.random.default_rng(seed)
    spec = network_spec(cfg, plan, init_weights(cfg, 100, 1, rng), 100, 1, False)
    inputs = (rng.random((steps, 100)) < 0.05).astype(np.int64)
    targets = spec.targets(0.5 * np.sin(np.arange(steps) / 30.0)[:, None], steps)
    return spec, inputs, targets, np.ones(steps, np.int64)


def _warm_up(spec, inputs, targets, mask) -> float:
    """Seconds of a 2-step run: loading (or, the first time, compiling) the kernel."""
    start = time.perf_counter()
    FastNetwork(spec).run(inputs[None, :2], targets[None, :2], mask[None, :2], record=())
    return time.perf_counter() - start


def _fast(spec, inputs, targets, mask, n: int):
    """Network-steps/s by wall clock and per CPU-second, and the network after the run."""
    net = FastNetwork(spec, n_instances=n)
    x, t, m = (np.broadcast_to(a, (n,) + a.shape) for a in (inputs, targets, mask))
    net.run(x[:, :2], t[:, :2], m[:, :2], record=())  # step 1 (in Python) and the compile
    start, cpu = time.perf_counter(), time.process_time()
    net.run(x[:, 2:], t[:, 2:], m[:, 2:], record=())  # as the Lava run
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return n * (len(inputs) - 2) / wall, n * (len(inputs) - 2) / cpu, net


def _synapses(net) -> int:
    return sum(d.weights[0].size for d in net.dense.values())


def _limit(net, updates: int) -> tuple[float, float]:
    """The yardstick's synapse-updates/s (wall, per CPU-second) on the state of
    ``net``'s recurrent projection, checked against the engine's update first."""
    dense = net.dense["recurrent->lif"]
    yardstick = Yardstick(dense._tables, dense.rounding == "stochastic")
    yardstick.check(dense)
    (w, t1, t2, *_), _, static = dense.kernel_arguments(0)
    arguments = yardstick.arguments(w, t1, t2, static[7], static[8], static[11], static[12],
                                    dense.time_step + 1)
    return yardstick.rate(arguments, numba.get_num_threads(), updates)


def _lava_seconds(spec, inputs, targets, mask) -> float:
    from lava_eprop.lava_graph import LavaGraph
    graph = LavaGraph(spec, inputs, targets, mask)
    start = time.perf_counter()
    graph.run(record=())
    return time.perf_counter() - start


def _lava(spec, inputs, targets, mask) -> float:
    """Steps/s of the run, less Lava's compile and start-up (a 2-step run's time)."""
    startup = _lava_seconds(spec, inputs[:2], targets[:2], mask[:2])
    total = _lava_seconds(spec, inputs, targets, mask)
    print(f"  (Lava compile and start-up: {startup:.1f} s, excluded)")
    return (len(inputs) - 2) / max(total - startup, 1e-9)


def _training_seconds(engine: str, steps: int, iterations: int) -> float:
    """Training-loop seconds of ``lava-eprop train`` on the benchmark network
    (the float reference with online updates, or the fixed-point engine)."""
    raw = preset_dict("pattern-generation")
    raw["task"].update(n_in=100, n_steps=steps)
    raw["network"]["n_rec"] = 100
    raw["training"].update(update="online", batch_size=1, iterations=iterations,
                           eval_every=iterations)
    raw.setdefault("fixed_point", {}).update(ROUNDING)
    cfg = from_dict(raw)
    task = make_task(cfg)
    if engine == "float":
        return train_float(cfg, task, progress=False).seconds
    return train_fixed(cfg, task, engine, progress=False).seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--skip-lava", action="store_true")
    parser.add_argument("--rounding", choices=("lava", "stochastic"), default=None)
    parser.add_argument("--instances", type=int, default=8)
    args = parser.parse_args()
    if args.rounding:
        ROUNDING["rounding"] = args.rounding
    data = _network(args.steps)
    n = args.instances
    print(f"learning-engine model: {data[0].rounding}; numba threads: "
          f"{numba.get_num_threads()}; load average: {os.getloadavg()[0]:.1f}")
    print(f"  (fast engine kernel load/compile: {_warm_up(*data):.1f} s, excluded)")
    fast = {}
    for n_rec in (100, 300):
        net_data = data if n_rec == 100 else _network(args.steps, n_rec=n_rec)
        for count in (1, n):
            fast[n_rec, count] = _fast(*net_data, count)
    lava = _lava(*data) if not args.skip_lava else float("nan")
    net300 = fast[300, n][2]
    synapses = {n_rec: _synapses(fast[n_rec, 1][2]) for n_rec in (100, 300)}
    limit_wall, limit_cpu = _limit(net300, max(1, int(2e9 / net300.dense["recurrent->lif"]
                                                      .weights.size)))
    print(f"e-prop network 100 in / N rec / 1 out, learning on, {args.steps} steps")
    print(f"  {'Lava graph (Loihi2SimCfg, fixed_pt), 100 rec':48s} {lava:12.1f} steps/s")
    for (n_rec, count), (wall, cpu, _) in fast.items():
        print(f"  {f'fast engine, {n_rec} rec, {count} instance(s)':48s} {wall:12.1f} steps/s"
              f" wall, {cpu:12.1f} per CPU-s; {cpu * synapses[n_rec]:.3g} synapse-updates "
              f"per CPU-s")
    engine_cpu = fast[300, n][1] * synapses[300]
    engine_wall = fast[300, n][0] * synapses[300]
    print(f"  yardstick (C, recurrent 300x300 x {n} instances, {numba.get_num_threads()} "
          f"threads): {limit_wall:.3g} synapse-updates/s wall, {limit_cpu:.3g} per CPU-s")
    print(f"  fast engine / yardstick at 300 rec, {n} instances: "
          f"{engine_cpu / limit_cpu:.2f} (per CPU-s), {engine_wall / limit_wall:.2f} (wall)")
    if not args.skip_lava:
        for count in (1, n):
            print(f"  fast engine, 100 rec, {count} instance(s) / Lava graph: "
                  f"{fast[100, count][0] / lava:8.1f}x")
    summary = {"lava_steps_per_s": lava, "fast_steps_per_s": fast[100, 1][0],
               "fast_network_steps_per_s": fast[100, n][0],
               "fast_synapse_updates_per_s": engine_cpu,
               "limit_synapse_updates_per_s": limit_cpu,
               "ratio_to_lava": fast[100, 1][0] / lava,
               "ratio_to_limit": engine_cpu / limit_cpu,
               "fast_steps_per_s_cpu": fast[100, 1][1],
               "fast_network_steps_per_s_cpu": fast[100, n][1],
               "fast_steps_per_s_300": fast[300, 1][0],
               "fast_network_steps_per_s_300": fast[300, n][0],
               "fast_synapse_updates_per_s_wall": engine_wall,
               "limit_synapse_updates_per_s_wall": limit_wall,
               "ratio_to_limit_wall": engine_wall / limit_wall,
               "instances": n, "threads": numba.get_num_threads(),
               "load_average": os.getloadavg()[0]}
    if args.iterations == 0:
        print(json.dumps(summary))
        return
    seconds = {engine: _training_seconds(engine, args.steps, args.iterations)
               for engine in ("float", "fixed")}
    print(f"training, {args.iterations} iterations of 1 trial x {args.steps} steps, "
          "online updates (training loop incl. its held-out evaluation)")
    for engine, sec in seconds.items():
        print(f"  --engine {engine:6s} {sec:8.2f} s  "
              f"({args.iterations * args.steps / sec:8.1f} steps/s)")
    print(f"  fixed / float time: {seconds['fixed'] / seconds['float']:8.2f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
