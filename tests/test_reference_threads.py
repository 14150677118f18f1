"""The float reference gives the same result whatever number of BLAS threads the
machine offers: OpenBLAS splits a product's sums differently for each thread
count, which changed the weights' last bits after 5 evidence-accumulation
trials (1 against 2 threads, before the reference pinned one thread) and the
whole trajectory after about 140, and made ``train --seeds`` (one thread per
worker) differ from ``train --seed``."""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

import lava_eprop


def _trained(threads: int):
    with threadpool_limits(limits=threads, user_api="blas"):
        return lava_eprop.train("evidence-accumulation", engine="float", iterations=5,
                                chip_regime=True, progress=False,
                                settings=["training.eval_every=5", "training.eval_trials=4"])


def test_float_training_is_the_same_with_one_or_two_blas_threads():
    one, two = _trained(1), _trained(2)
    for name in ("w_in", "w_rec", "w_out"):
        assert np.array_equal(getattr(one.weights, name), getattr(two.weights, name)), name
    assert one.metrics["final_loss"] == two.metrics["final_loss"]
