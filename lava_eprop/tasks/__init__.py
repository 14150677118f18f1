"""Task types: each module here defines one (:class:`Task`), with its config keys,
their checks, its sizes and its generator; a preset, if any, is
``lava_eprop/presets/<name>.yaml``.

:data:`TASKS` collects every ``Task`` subclass with a ``name`` defined in a
module of this package, so adding a task type means adding its module (and
its preset file); :mod:`lava_eprop.config` and the compiler's sizes read it.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import MappingProxyType
from typing import TYPE_CHECKING

from lava_eprop.tasks.base import Batch, Shape, Task

if TYPE_CHECKING:
    from lava_eprop.config import Config

__all__ = ["TASKS", "Batch", "Shape", "Task", "make_task", "task_shape"]


def _task_types() -> dict[str, type[Task]]:
    """Every Task subclass with a ``name`` of this package's modules, ordered by
    ``(Task.listed, name)``."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Task) and "name" in vars(obj) \
                    and obj.__module__ == module.__name__:
                found[obj.name] = obj
    return dict(sorted(found.items(), key=lambda item: (item[1].listed, item[0])))


#: ``{task.name: task type}``.
TASKS = MappingProxyType(_task_types())


def make_task(cfg: Config) -> Task:
    """The task a config describes."""
    cls = TASKS[cfg.task["name"]]
    return cls(*cls.config_args(cfg))


def task_shape(cfg: Config) -> Shape:
    """The sizes of the task a config describes, without building it (a dataset's
    from its file's headers)."""
    cls = TASKS[cfg.task["name"]]
    return cls.shape(*cls.config_args(cfg))
