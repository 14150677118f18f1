"""What the two training drivers share: results, scores, the schedule, the progress bar.

:mod:`lava_eprop.training.reference` trains the float reference and
:mod:`lava_eprop.training.onchip` the integer network on chip (fast engine or
Lava graph); both return a :class:`TrainResult`, score their held-out
evaluations (:class:`Evaluation`) with :func:`score`, follow the
learning-rate schedule of :func:`lr_factor` and show their iterations with
:func:`iteration_bar`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from lava_eprop.errors import NumericalError
from lava_eprop.reference.network import Record, predictions, trial_labels
from lava_eprop.reference.params import Weights
from lava_eprop.tasks import Batch


@dataclass
class Evaluation:
    """Loss and score of a network on a fixed set of trials, and its ``record``
    (:func:`evaluate` keeps of it the readout ``y`` of every trial and, if asked, the
    spikes ``z`` as bool; the other fields are None)."""

    loss: float
    nmse: float | None
    accuracy: float | None
    record: Record
    batch: Batch


@dataclass
class TrainResult:
    """What a training run produced."""

    weights: Weights
    initial_weights: Weights
    initial: Evaluation      # the float reference keeps its readout, not its spikes
    final: Evaluation
    loss_curve: list = field(default_factory=list)
    eval_curve: list = field(default_factory=list)
    seconds: float = 0.0
    steps_simulated: int = 0
    saturation: dict | None = None    # fixed-point engine: saturation/wrap events per variable


def score(rec: Record, batch: Batch, kind: str, loss: float) -> Evaluation:
    """The :class:`Evaluation` of a recorded run: NMSE (regression: MSE over masked
    steps / target variance) or accuracy (classification: decision per trial)."""
    nmse = accuracy = None
    if kind == "regression":
        m = batch.mask
        with np.errstate(divide="ignore", invalid="ignore"):   # constant targets: inf or
            nmse = float(np.mean((rec.y[m] - batch.targets[m]) ** 2)    # NaN, which the
                         / np.var(batch.targets[m]))                    # callers refuse
    else:
        accuracy = float(np.mean(predictions(rec.y, batch.mask)
                                 == trial_labels(batch.targets, batch.mask)))
    return Evaluation(loss, nmse, accuracy, rec, batch)


def lr_factor(training, iteration: int) -> float:
    """The learning-rate schedule's factor at ``iteration`` (0-based):
    ``lr_decay^(iteration // lr_decay_every)``; the float optimiser's rate and
    the on-chip host's scaling of each trial's weight change both use it."""
    return training.lr_decay ** (iteration // training.lr_decay_every)


def check_evaluation(ev: Evaluation, when: str) -> Evaluation:
    """``ev`` if its held-out loss and score are finite; NumericalError naming ``when``."""
    score = ev.nmse if ev.nmse is not None else ev.accuracy
    if not (np.isfinite(ev.loss) and np.isfinite(score)):
        raise NumericalError(f"{when}: the held-out loss became {ev.loss} and the score "
                             f"{score} (NaN or Inf); check training.learning_rate, "
                             "network.dt and that the targets vary")
    return ev


class _Counted:
    """An iteration bar that also calls ``tick(1)`` after each iteration's body."""

    def __init__(self, bar, tick: Callable[[int], None]):
        self.bar, self.tick = bar, tick

    def __iter__(self):
        for it in self.bar:
            yield it
            self.tick(1)

    def set_postfix(self, *args, **kwargs) -> None:
        self.bar.set_postfix(*args, **kwargs)


def iteration_bar(progress, first: int, total: int, desc: str):
    """The training loop over iterations ``first .. total - 1``: a tqdm bar (shown on a
    terminal) when ``progress`` is True, hidden when False. A callable ``progress``
    hides it and is called with ``first`` at once and with 1 after each iteration
    (``train --seeds``' workers count their iterations into one bar)."""
    bar = tqdm(range(first, total), desc=desc, unit="it", initial=first, total=total,
               disable=None if progress is True else True, leave=False)
    if not callable(progress):
        return bar
    progress(first)
    return _Counted(bar, progress)


def show_progress(bar, loss: float, result: TrainResult, kind: str) -> None:
    """The progress bar's postfix: the latest training loss and the latest held-out
    score (``nmse`` or ``acc``; before the first evaluation during training, the
    initial one)."""
    initial = result.initial.nmse if kind == "regression" else result.initial.accuracy
    held_out = result.eval_curve[-1][2] if result.eval_curve else initial
    name = "held_nmse" if kind == "regression" else "held_acc"
    bar.set_postfix({"loss": f"{loss:.4g}", name: f"{held_out:.3g}"}, refresh=False)
