import logging

import numpy as np
import pytest
import torch

from syne_dyhpo._surrogate import DeepKernelSurrogate, SurrogateUnavailableError
from syne_dyhpo._surrogate.feature_extractor import FeatureExtractor

D, L = 3, 4


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inputs = rng.random((n, D + 1 + 2 * L))
    y = np.sin(3 * inputs[:, 0]) * 0.5 + 0.5 * inputs[:, D]
    return inputs, y


def test_feature_extractor_is_built_from_widths_and_maps_shapes():
    extractor = FeatureExtractor(D, L, widths=(16, 8, 5))
    linear = [m for m in extractor.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == [16, 8, 5]
    out = extractor(torch.rand(7, extractor.input_dim))
    assert out.shape == (7, 5) == (7, extractor.output_dim)
    with pytest.raises(ValueError, match="widths"):
        FeatureExtractor(D, L, widths=())


def test_fit_interpolates_training_data_and_is_reproducible():
    inputs, y = _data(40)
    test_inputs, test_y = _data(10, seed=1)
    predictions = []
    for _ in range(2):
        surrogate = DeepKernelSurrogate(D, L, scratch_steps=150)
        assert surrogate.fit(inputs, y, from_scratch=True, seed=3)
        posterior = surrogate.posterior(inputs, y, test_inputs)
        std = posterior.std(np.arange(10))
        assert posterior.mean.shape == std.shape == (10,)
        assert np.all((std > 0) & (std <= posterior.std_bound + 1e-12))
        predictions.append(posterior.mean)
        fitted = surrogate.posterior(inputs, y, inputs).mean
        assert np.sqrt(np.mean((fitted - y) ** 2)) < 0.5 * np.std(y)
    np.testing.assert_array_equal(predictions[0], predictions[1])


@pytest.mark.parametrize("noise_floor", [1e-3, 1e-2])
def test_fitted_noise_never_drops_below_the_floor(noise_floor):
    # Noise-free targets: the marginal likelihood alone would drive the noise down.
    inputs, y = _data(60)
    surrogate = DeepKernelSurrogate(
        D, L, scratch_steps=300, learning_rate=0.05, noise_floor=noise_floor
    )
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    for _ in range(5):  # warm-started refits keep walking downhill
        assert surrogate.fit(inputs, y, from_scratch=False, seed=0)
    noise = surrogate.model.likelihood.noise.item()
    assert noise_floor <= noise < 1.2 * noise_floor


def test_noise_floor_must_be_positive():
    with pytest.raises(ValueError, match="noise_floor must be > 0, got 0"):
        DeepKernelSurrogate(D, L, noise_floor=0)


def test_failed_fit_keeps_the_previous_model_and_logs(caplog):
    inputs, y = _data(30)
    surrogate = DeepKernelSurrogate(D, L, scratch_steps=20, refine_steps=5)
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    before = {k: v.clone() for k, v in surrogate.model.state_dict().items()}
    bad_y = y.copy()
    bad_y[3] = np.nan
    with caplog.at_level(logging.WARNING):
        assert not surrogate.fit(inputs, bad_y, from_scratch=False, seed=1)
    assert "keeping the previous model" in caplog.text
    for key, value in surrogate.model.state_dict().items():
        if key not in ("train_inputs", "train_targets"):
            torch.testing.assert_close(value, before[key])
    assert np.all(np.isfinite(surrogate.posterior(inputs, y, inputs[:2]).mean))


def test_predict_before_any_fit_raises_unavailable():
    inputs, y = _data(5)
    with pytest.raises(SurrogateUnavailableError):
        DeepKernelSurrogate(D, L).posterior(inputs, y, inputs)


def test_fit_on_more_points_than_the_cap_uses_a_subset_but_conditions_on_all():
    inputs, y = _data(60)
    surrogate = DeepKernelSurrogate(D, L, scratch_steps=10, max_fit_points=20)
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    assert surrogate.model.train_inputs[0].shape[0] == 20
    assert surrogate.posterior(inputs, y, inputs).mean.shape == (60,)


def test_posterior_on_appended_rows_matches_one_computed_from_scratch():
    inputs, y = _data(60)
    test_inputs, _ = _data(8, seed=2)
    surrogate = DeepKernelSurrogate(D, L, scratch_steps=20)
    assert surrogate.fit(inputs[:40], y[:40], from_scratch=True, seed=0)
    surrogate.posterior(inputs[:40], y[:40], test_inputs)
    for n in (41, 50, 60):  # extends the cached factorization
        extended = surrogate.posterior(inputs[:n], y[:n], test_inputs, inputs[:2])
    assert len(surrogate._factor_cache[0]) == 60
    surrogate._factor_cache = None
    fresh = surrogate.posterior(inputs, y, test_inputs, inputs[:2])
    index = np.arange(8)
    np.testing.assert_allclose(extended.mean, fresh.mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(extended.std(index), fresh.std(index), rtol=1e-6, atol=1e-9)
    changed = inputs.copy()
    changed[5, 0] += 0.5  # an earlier row changed: the factorization is rebuilt
    rebuilt = surrogate.posterior(changed, y, test_inputs)
    assert surrogate._factor_cache[0] is changed
    assert not np.allclose(rebuilt.mean, fresh.mean)
