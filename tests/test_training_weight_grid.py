"""Between on-chip trials the host puts weights on the grid LearningDense truncates to."""
import numpy as np
from lava.utils.weightutils import SignMode, truncate_weights

from lava_eprop.training.onchip import onto_weight_grid


def test_grid_weights_survive_lavas_first_step_truncation():
    w = np.arange(-255, 256).reshape(1, -1)
    on = onto_weight_grid({"p": w}, np.random.default_rng(0))["p"]
    # Lava's own truncation (mixed sign, 8 bits) leaves them unchanged
    assert np.array_equal(truncate_weights(on, SignMode.MIXED, 8), on)
    assert np.abs(on - w).max() == 1 and np.array_equal(on[w % 2 == 0], w[w % 2 == 0])


def test_grid_rounding_is_unbiased_where_truncation_floors():
    w = np.full((200, 500), 37)
    on = onto_weight_grid({"p": w}, np.random.default_rng(1))["p"]
    assert set(np.unique(on)) == {36, 38}
    assert abs(on.mean() - 37) < 0.01          # 1e5 draws: std of the mean 0.003
    assert truncate_weights(w, SignMode.MIXED, 8).mean() == 36
