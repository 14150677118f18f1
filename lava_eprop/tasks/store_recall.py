"""Store-recall working-memory task (Bellec et al. 2018, "Long short-term memory and
learning-to-learn in networks of spiking neurons", NeurIPS; the LSNN paper).

Five equal input groups: store, recall, value 0, value 1, background noise.
A trial has ``n_windows`` windows of ``window_steps``. In every window one
value group fires (a random bit). The store group fires together with it in
one window chosen among all but the last; the recall group fires in a later
window. During the recall window the network must report the bit that was
presented with the store cue (label 0 or 1); the bits of the other windows
are distractors. Background channels fire at a quarter of the rate.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from lava_eprop.errors import UserError
from lava_eprop.schema import Field
from lava_eprop.tasks.base import Batch, Shape, Task, poisson


class StoreRecall(Task):
    name = "store-recall"
    listed = 2
    kind = "classification"
    n_out = 2
    schema: ClassVar[dict[str, Field]] = {
        "n_in": Field("int", 40, "input channels, split into 5 equal groups: store, recall, "
                      "value 0, value 1, background noise", lo=5, hi=4096),
        "n_windows": Field("int", 6, "windows per trial; the store cue comes in one, the "
                           "recall cue in a later one", lo=3, hi=1000),
        "window_steps": Field("int", 100, "steps per window", lo=1, hi=10**5),
        "input_rate_hz": Field("float", 50.0, "rate of active channels in Hz (background "
                               "channels fire at a quarter of it)", lo=0.0, hi=1e4),
    }

    @staticmethod
    def check(task: dict) -> None:
        if task["n_in"] % 5:
            raise UserError(f"task.n_in = {task['n_in']} must be a multiple of 5 (5 equal "
                            "input groups)")

    @staticmethod
    def shape(task, dt_ms: float) -> Shape:
        return Shape(task["n_in"], 2, task["n_windows"] * task["window_steps"])

    def __init__(self, task, dt_ms: float):
        self.n_in = task["n_in"]
        self.n_windows, self.window = task["n_windows"], task["window_steps"]
        self.n_steps = self.n_windows * self.window
        self.p_spike = task["input_rate_hz"] * dt_ms / 1000.0

    def sample(self, size: int, rng: np.random.Generator) -> Batch:
        g, w = self.n_in // 5, self.window
        bits = rng.integers(0, 2, (size, self.n_windows))
        store = rng.integers(0, self.n_windows - 1, size)
        recall = store + 1 + (rng.random(size) * (self.n_windows - 1 - store)).astype(int)
        prob = np.zeros((size, self.n_steps, self.n_in))
        prob[:, :, 4 * g:] = self.p_spike / 4
        mask = np.zeros((size, self.n_steps), dtype=bool)
        for b in range(size):
            for k in range(self.n_windows):
                span = slice(k * w, (k + 1) * w)
                prob[b, span, (2 + bits[b, k]) * g:(3 + bits[b, k]) * g] = self.p_spike
            prob[b, store[b] * w:(store[b] + 1) * w, 0:g] = self.p_spike
            prob[b, recall[b] * w:(recall[b] + 1) * w, g:2 * g] = self.p_spike
            mask[b, recall[b] * w:(recall[b] + 1) * w] = True
        labels = bits[np.arange(size), store]
        return Batch(poisson(prob, rng), np.repeat(labels[:, None], self.n_steps, axis=1), mask)
