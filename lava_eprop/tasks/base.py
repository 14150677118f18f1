"""What a task type declares (:class:`Task`) and hands to the engines: a batch of
inputs, targets and mask."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from lava_eprop.schema import Field

if TYPE_CHECKING:
    from lava_eprop.config import Config


@dataclass(frozen=True)
class Shape:
    """A task's sizes, known from its config alone (before it is built).

    ``data_bytes`` is the memory the task itself takes while it is built and
    holds its data (a dataset's arrays, the frozen pattern); ``n_samples`` the
    trials a dataset holds (None: generated without end).
    """

    n_in: int
    n_out: int
    n_steps: int
    data_bytes: int = 0
    n_samples: int | None = None


@dataclass(frozen=True)
class Batch:
    """One batch of trials.

    inputs : [B, T, n_in] float (spikes are 0/1)
    targets : regression: [B, T, n_out] float; classification: [B, T] int labels
    mask : [B, T] bool, the steps that count in the loss and the decision
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray

    @property
    def size(self) -> int:
        return self.inputs.shape[0]


class Task:
    """A task type: its config keys and their checks, its sizes, its kind, and how to
    draw training and held-out batches.

    A subclass with a ``name``, in a module of :mod:`lava_eprop.tasks`, is a
    task type of the configs (``task.name``); its preset, if it has one, is
    ``lava_eprop/presets/<name>.yaml``. It sets ``name``, ``schema`` (the
    ``task`` keys besides ``name``), ``kind`` (``regression`` or
    ``classification``), ``n_in``, ``n_out``, ``n_steps``, implements
    :meth:`sample` and :meth:`shape`, and :meth:`check` where keys constrain
    each other. ``listed`` orders the task types in listings (``presets``,
    docs/config.md): the seed paper's tasks in its order, then the rest by name.
    """

    name: ClassVar[str]
    schema: ClassVar[dict[str, Field]] = {}
    listed: ClassVar[int] = 100
    kind: str
    n_in: int
    n_out: int
    n_steps: int

    @staticmethod
    def check(task: dict) -> None:
        """Refuse, with a one-line :class:`~lava_eprop.errors.UserError`, values of the
        validated ``task`` section that only fail together."""

    @classmethod
    def config_args(cls, cfg: Config) -> tuple:
        """The arguments of the constructor and of :meth:`shape` for ``cfg``."""
        return cfg.task, cfg.network["dt"]

    @staticmethod
    def shape(*args) -> Shape:
        """The sizes of the task the constructor's arguments describe, found without
        building it (from the config; a dataset from its file's headers)."""
        raise NotImplementedError

    def sample(self, size: int, rng: np.random.Generator) -> Batch:
        """Draw ``size`` training trials."""
        raise NotImplementedError

    def seek(self, trials_served: int) -> None:
        """Continue the training stream after ``trials_served`` trials (0: from the start).

        Trainers call it before their first draw, a resumed run with the trials
        its checkpoint has done. Tasks that draw trials with the run's generator
        alone need nothing here: the (restored) generator is their position.
        """

    def check_spikes(self, where: str) -> None:
        """Refuse inputs other than 0/1 spikes for ``where`` (on chip, an input is a
        spike or none); generated tasks draw only spikes."""

    def held_out(self, size: int, seed: int) -> Batch:
        """A fixed set of evaluation trials (the same for the same ``seed``)."""
        return self.sample(size, np.random.default_rng([seed, 0x5EED]))


def poisson(rates_per_step: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0/1 spike trains with the given firing probability per step."""
    return (rng.random(rates_per_step.shape) < rates_per_step).astype(np.float64)
