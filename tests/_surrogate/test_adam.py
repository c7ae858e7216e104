"""Our Adam against ``torch.optim.Adam``: the same parameters after every step."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from syne_dyhpo._surrogate.adam import Adam


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 1)
    ).double()


def _train(model: torch.nn.Module, optimizer, steps: int, seed: int) -> list[list[torch.Tensor]]:
    torch.manual_seed(seed + 1)
    x, y = torch.randn(16, 5, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()
        trajectory.append([p.detach().clone() for p in model.parameters()])
    return trajectory


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 1000),
    lr=st.floats(1e-4, 0.5),
    steps=st.integers(1, 30),
)
def test_every_step_equals_torch_adam(seed, lr, steps):
    ours, theirs = _model(seed), _model(seed)
    expected = _train(theirs, torch.optim.Adam(theirs.parameters(), lr=lr), steps, seed)
    got = _train(ours, Adam(ours.parameters(), lr=lr), steps, seed)
    for step_got, step_expected in zip(got, expected, strict=True):
        for p_got, p_expected in zip(step_got, step_expected, strict=True):
            torch.testing.assert_close(p_got, p_expected, rtol=1e-12, atol=1e-14)


def test_parameters_without_a_gradient_stay_put():
    frozen, trained = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    optimizer = Adam([frozen, trained], lr=0.1)
    trained.sum().backward()
    optimizer.step()
    assert torch.equal(frozen, torch.ones(3))
    assert (trained < 1).all()
