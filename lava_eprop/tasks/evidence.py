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

from typing import ClassVar

import numpy as np

from lava_eprop.errors import UserError
from lava_eprop.schema import Field
from lava_eprop.tasks.base import Batch, Shape, Task, poisson


class EvidenceAccumulation(Task):
    name = "evidence-accumulation"
    listed = 1
    kind = "classification"
    n_out = 2
    schema: ClassVar[dict[str, Field]] = {
        "n_in": Field("int", 40, "input channels, split into 4 equal groups: left cue, right "
                      "cue, recall cue, background noise", lo=4, hi=4096),
        "n_cues": Field("int", 7, "cues per trial (odd, so there is always a majority)", lo=1,
                        hi=99),
        "t_cue": Field("int", 100, "steps a cue lasts", lo=1, hi=10**5),
        "t_interval": Field("int", 150, "steps from one cue onset to the next (>= t_cue)",
                            lo=1, hi=10**5),
        "delay": Field("int", 1050, "steps from the end of the cue period to the recall cue",
                       lo=0, hi=10**6),
        "recall_duration": Field("int", 150, "steps of the recall cue = decision window", lo=1,
                                 hi=10**5),
        "input_rate_hz": Field("float", 40.0, "rate of active cue channels in Hz (background "
                               "channels fire at a quarter of it)", lo=0.0, hi=1e4),
        "p_majority": Field("float", 0.7, "probability that a cue is on the trial's majority "
                            "side", lo=0.5, hi=1.0),
    }

    @staticmethod
    def check(task: dict) -> None:
        if task["n_in"] % 4:
            raise UserError(f"task.n_in = {task['n_in']} must be a multiple of 4 (4 equal "
                            "input groups)")
        if task["n_cues"] % 2 == 0:
            raise UserError(f"task.n_cues = {task['n_cues']} must be odd (allowed: odd "
                            "integers 1 to 99)")
        if task["t_interval"] < task["t_cue"]:
            raise UserError(f"task.t_interval = {task['t_interval']} is shorter than task.t_cue"
                            f" = {task['t_cue']} (allowed: t_interval >= t_cue)")

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
