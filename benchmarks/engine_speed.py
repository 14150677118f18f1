"""Steps per second of the e-prop Lava graph vs the fast engine (issue 4 benchmark).

One network (pattern generation, 100 inputs, 100 recurrent LIF, 1 readout,
online learning on), ``--steps`` steps (default 1000): the Lava graph
(``Loihi2SimCfg``, fixed-point models), the fast engine with 1 instance and
with 32 instances (steps/s counts network steps of all instances; the
numba kernel's load or compile time is excluded and printed). Both sides
record nothing (``record=()``), so both measure the same work: the fast
engine's run is then one compiled call (:mod:`lava_eprop.engine.network_codegen`;
recording the default ``z`` and ``readout_v`` costs well under 1 us a step).
Then the same network and schedule trained by ``lava-eprop train`` both ways
for ``--iterations`` iterations: the float reference (``--engine float``, e-prop
with ``update: online``, one trial per iteration) and the fixed-point engine
(``--engine fixed``), and the ratio of their training times. Prints the
numbers and their ratios; it asserts nothing about time. ``--rounding``
picks the learning-engine model (``fixed_point.rounding``; default the
config's default, ``stochastic``).

    .venv/bin/python benchmarks/engine_speed.py [--steps N] [--iterations K] [--skip-lava]
        [--rounding lava|stochastic]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from compilers import compile_plan
from lava_eprop.config import from_dict, preset_dict
from lava_eprop.engine.network import FastNetwork
from lava_eprop.engine.spec import network_spec
from lava_eprop.engine.train import train_fixed
from lava_eprop.reference.params import init_weights
from lava_eprop.reference.train import train_float
from lava_eprop.tasks import make_task


ROUNDING = {}   # fixed_point overrides, set from --rounding


def _network(steps: int, seed: int = 0):
    raw = preset_dict("pattern-generation")
    raw["task"].update(n_in=100, n_steps=steps)
    raw["network"]["n_rec"] = 100
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


def _fast(spec, inputs, targets, mask, n: int) -> float:
    net = FastNetwork(spec, n_instances=n)
    x, t, m = (np.broadcast_to(a, (n,) + a.shape) for a in (inputs, targets, mask))
    start = time.perf_counter()
    net.run(x, t, m, record=())  # as the Lava run
    return n * len(inputs) / (time.perf_counter() - start)


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
    args = parser.parse_args()
    if args.rounding:
        ROUNDING["rounding"] = args.rounding
    data = _network(args.steps)
    print(f"learning-engine model: {data[0].rounding}")
    print(f"  (fast engine kernel load/compile: {_warm_up(*data):.1f} s, excluded)")
    rates = {"fast engine, 1 instance": _fast(*data, 1),
             "fast engine, 32 instances": _fast(*data, 32)}
    if not args.skip_lava:
        rates["Lava graph (Loihi2SimCfg, fixed_pt)"] = _lava(*data)
    print(f"e-prop network 100 in / 100 rec / 1 out, learning on, {args.steps} steps")
    for name, rate in rates.items():
        print(f"  {name:40s} {rate:10.1f} steps/s")
    if not args.skip_lava:
        lava = rates["Lava graph (Loihi2SimCfg, fixed_pt)"]
        for name in ("fast engine, 1 instance", "fast engine, 32 instances"):
            print(f"  {name} / Lava graph: {rates[name] / lava:8.1f}x")
    seconds = {engine: _training_seconds(engine, args.steps, args.iterations)
               for engine in ("float", "fixed")}
    print(f"training, {args.iterations} iterations of 1 trial x {args.steps} steps, "
          "online updates (training loop incl. its held-out evaluation)")
    for engine, sec in seconds.items():
        print(f"  --engine {engine:6s} {sec:8.2f} s  "
              f"({args.iterations * args.steps / sec:8.1f} steps/s)")
    print(f"  fixed / float time: {seconds['fixed'] / seconds['float']:8.2f}")


if __name__ == "__main__":
    main()
