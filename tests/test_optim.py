"""The optimisers against torch.optim (independent implementation)."""
import numpy as np
import pytest
import torch

from lava_eprop.reference.optim import Adam, SGD


@pytest.mark.parametrize("ours,theirs", [
    (lambda: Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1))])
def test_optimiser_matches_torch_over_several_steps(ours, theirs):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(5)]
    params = {"w": w0.copy()}
    opt = ours()
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = theirs([tw])
    for g in grads:
        opt.step(params, {"w": g})
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(params["w"], tw.detach().numpy(), rtol=1e-12, atol=1e-12)
