"""Evidence accumulation (Bellec et al. 2020, Fig. 3; Morcos & Harvey 2016).

Four equal input groups: left cue, right cue, recall cue, background noise.
After ``t_interval - t_cue`` silent steps, ``n_cues`` cues follow every
``t_interval`` steps, each lasting ``t_cue`` steps on the left or the right
group (the trial's majority side with probability ``p_majority``). After
``delay`` steps the recall group fires for ``recall_duration`` steps: in that
window the network must report the side that had more cues (label 0 = left,
1 = right). Background channels fire at a quarter of the cue rate throughout.
"""
from __future__ import annotations

import numpy as np

from lava_eprop.tasks.base import Batch, Shape, Task, poisson


class EvidenceAccumulation(Task):
    name = "evidence-accumulation"
    kind = "classification"
    n_out = 2

    @staticmethod
    def shape(task, dt_ms: float) -> Shape:
        silence = task["t_interval"] - task["t_cue"]
        cue_end = silence + (task["n_cues"] - 1) * task["t_interval"] + task["t_cue"]
        return Shape(task["n_in"], 2, cue_end + task["delay"] + task["recall_duration"])

    def __init__(self, task, dt_ms: float):
        self.t = dict(task)
        self.n_in = task["n_in"]
        self.silence = task["t_interval"] - task["t_cue"]
        self.n_steps = self.shape(task, dt_ms).n_steps
        self.p_spike = task["input_rate_hz"] * dt_ms / 1000.0

    def sample(self, size: int, rng: np.random.Generator) -> Batch:
        t = self.t
        group = self.n_in // 4
        majority = rng.integers(0, 2, size)
        on_majority = rng.random((size, t["n_cues"])) < t["p_majority"]
        sides = np.where(on_majority, majority[:, None], 1 - majority[:, None])
        prob = np.zeros((size, self.n_steps, self.n_in))
        for k in range(t["n_cues"]):
            start = self.silence + k * t["t_interval"]
            for side in (0, 1):
                trials = sides[:, k] == side
                channels = slice(side * group, (side + 1) * group)
                prob[trials, start:start + t["t_cue"], channels] = self.p_spike
        prob[:, -t["recall_duration"]:, 2 * group:3 * group] = self.p_spike
        prob[:, :, 3 * group:] = self.p_spike / 4
        labels = (sides.sum(axis=1) > t["n_cues"] // 2).astype(np.int64)
        mask = np.zeros((size, self.n_steps), dtype=bool)
        mask[:, -t["recall_duration"]:] = True
        return Batch(poisson(prob, rng), np.repeat(labels[:, None], self.n_steps, axis=1), mask)
