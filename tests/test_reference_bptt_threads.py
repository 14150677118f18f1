"""BPTT (PyTorch autograd) gives the same weights whatever number of threads torch
uses, as the e-prop float reference does with BLAS threads
(``tests/test_reference_threads.py``): ``train --seeds`` gives each worker its share
of the cores, and its runs must equal the single runs."""
from __future__ import annotations

import numpy as np
import torch

import lava_eprop


def _trained(threads: int, iterations: int = 3):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return lava_eprop.train("pattern-generation", engine="float", iterations=iterations,
                                method="bptt", progress=False,
                                settings=["training.eval_every=3", "training.batch_size=4"])
    finally:
        torch.set_num_threads(before)


def test_bptt_training_is_the_same_with_one_or_two_torch_threads():
    one, two = _trained(1), _trained(2)
    for name in ("w_in", "w_rec", "w_out"):
        assert np.array_equal(getattr(one.weights, name), getattr(two.weights, name)), name
    assert one.metrics["final_loss"] == two.metrics["final_loss"]
    assert not np.array_equal(one.weights.w_rec, _trained(1, 1).weights.w_rec)  # it learns
