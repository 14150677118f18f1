"""Pattern generation (Bellec et al. 2020, Fig. 2; reference ``tutorial_pattern_generation``).

One frozen Poisson input pattern (``n_in`` channels at ``input_rate_hz``) and
``n_out`` target signals, each a sum of sines with the given periods, random
amplitudes in [0.5, 2] and random phases, shifted to start at 0 and scaled to
a peak magnitude of 1. The same input and target are used for training and
evaluation: the network must learn to reproduce the pattern.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from lava_eprop.schema import POSITIVE, Field
from lava_eprop.tasks.base import Batch, Shape, Task, poisson


def sum_of_sines(n_steps: int, dt_ms: float, periods_ms, rng: np.random.Generator) -> np.ndarray:
    """A normalised sum of sines of length ``n_steps``."""
    t_ms = np.arange(n_steps) * dt_ms
    out = np.zeros(n_steps)
    for period in periods_ms:
        amplitude = rng.uniform(0.5, 2.0)
        phase = rng.uniform(0.0, 2 * np.pi)
        out += amplitude * np.sin(2 * np.pi * t_ms / period + phase)
    out -= out[0]
    return out / max(np.abs(out).max(), 1e-6)


class PatternGeneration(Task):
    name = "pattern-generation"
    listed = 0
    kind = "regression"
    schema: ClassVar[dict[str, Field]] = {
        "n_in": Field("int", 100, "input channels (frozen Poisson spike trains)", lo=1, hi=4096),
        "n_out": Field("int", 1, "target signals (readouts)", lo=1, hi=64),
        "n_steps": Field("int", 1000, "time steps per sequence", lo=2, hi=10**6),
        "input_rate_hz": Field("float", 50.0, "Poisson input rate in Hz", lo=0.0, hi=1e4),
        "periods_ms": Field("floats", [1000.0, 500.0, 333.0, 200.0],
                            "periods of the summed sines, in ms", **POSITIVE, hi=1e7),
        "data_seed": Field("int", 0, "seed of the frozen input and target", lo=0,
                           hi=2**32 - 1),
    }

    @staticmethod
    def shape(task, dt_ms: float) -> Shape:
        # building the pattern: rates, random draws, the spikes, bool temporaries
        steps = task["n_steps"]
        return Shape(task["n_in"], task["n_out"], steps,
                     data_bytes=steps * (28 * task["n_in"] + 16 * task["n_out"]))

    def __init__(self, task, dt_ms: float):
        rng = np.random.default_rng(task["data_seed"])
        self.n_in, self.n_out, self.n_steps = task["n_in"], task["n_out"], task["n_steps"]
        p_spike = task["input_rate_hz"] * dt_ms / 1000.0
        self.inputs = poisson(np.full((self.n_steps, self.n_in), p_spike), rng)
        self.targets = np.stack([sum_of_sines(self.n_steps, dt_ms, task["periods_ms"], rng)
                                 for _ in range(self.n_out)], axis=-1)

    def sample(self, size: int, rng: np.random.Generator) -> Batch:
        reps = (size, 1, 1)
        return Batch(np.tile(self.inputs, reps), np.tile(self.targets, reps),
                     np.ones((size, self.n_steps), dtype=bool))
