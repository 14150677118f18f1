"""Task presets (generated locally) and the user ``.npz`` dataset."""
from __future__ import annotations

from lava_eprop.config import Config
from lava_eprop.tasks.base import Batch, Task
from lava_eprop.tasks.dataset import NpzDataset
from lava_eprop.tasks.evidence import EvidenceAccumulation
from lava_eprop.tasks.pattern import PatternGeneration
from lava_eprop.tasks.store_recall import StoreRecall

__all__ = ["Batch", "Task", "make_task"]

_GENERATED = {"pattern-generation": PatternGeneration,
              "evidence-accumulation": EvidenceAccumulation,
              "store-recall": StoreRecall}


def make_task(cfg: Config) -> Task:
    """The task a config describes."""
    if cfg.task["name"] == "dataset":
        return NpzDataset(cfg.task, cfg.base_dir)
    return _GENERATED[cfg.task["name"]](cfg.task, cfg.network["dt"])
