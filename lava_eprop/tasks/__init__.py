"""Task presets (generated locally) and the user ``.npz`` dataset."""
from __future__ import annotations

from lava_eprop.config import Config
from lava_eprop.tasks.base import Batch, Shape, Task
from lava_eprop.tasks.dataset import NpzDataset
from lava_eprop.tasks.evidence import EvidenceAccumulation
from lava_eprop.tasks.pattern import PatternGeneration
from lava_eprop.tasks.store_recall import StoreRecall

__all__ = ["Batch", "Shape", "Task", "make_task", "task_shape"]

_GENERATED = {"pattern-generation": PatternGeneration,
              "evidence-accumulation": EvidenceAccumulation,
              "store-recall": StoreRecall}


def _task_class_and_args(cfg: Config) -> tuple[type[Task], tuple]:
    if cfg.task["name"] == "dataset":
        return NpzDataset, (cfg.task, cfg.base_dir)
    return _GENERATED[cfg.task["name"]], (cfg.task, cfg.network["dt"])


def make_task(cfg: Config) -> Task:
    """The task a config describes."""
    cls, args = _task_class_and_args(cfg)
    return cls(*args)


def task_shape(cfg: Config) -> Shape:
    """The sizes of the task a config describes, without building it (a dataset's
    from its file's headers)."""
    cls, args = _task_class_and_args(cfg)
    return cls.shape(*args)
