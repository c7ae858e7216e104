import logging

import numpy as np
import pytest
import torch

from syne_dyhpo._surrogate import DeepKernelSurrogate, SurrogateUnavailableError
from syne_dyhpo._surrogate.feature_extractor import FeatureExtractor
from syne_dyhpo.model_inputs import RowLayout

D, L = 3, 4
LAYOUT = RowLayout(config_dim=D, max_t=L + 1)


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inputs = rng.random((n, D + 1 + 2 * L))
    y = np.sin(3 * inputs[:, 0]) * 0.5 + 0.5 * inputs[:, D]
    return inputs, y


def test_feature_extractor_is_built_from_widths_and_maps_shapes():
    extractor = FeatureExtractor(LAYOUT, widths=(16, 8, 5))
    linear = [m for m in extractor.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == [16, 8, 5]
    out = extractor(torch.rand(7, LAYOUT.width))
    assert out.shape == (7, 5) == (7, extractor.output_dim)
    with pytest.raises(ValueError, match="widths"):
        FeatureExtractor(LAYOUT, widths=())


def test_fit_interpolates_training_data_and_is_reproducible():
    inputs, y = _data(40)
    test_inputs, test_y = _data(10, seed=1)
    predictions = []
    for _ in range(2):
        surrogate = DeepKernelSurrogate(LAYOUT, scratch_steps=150)
        assert surrogate.fit(inputs, y, from_scratch=True, seed=3)
        mean, std = surrogate.posterior(inputs, y, test_inputs)
        assert mean.shape == std.shape == (10,)
        assert np.all(std > 0)
        predictions.append(mean)
        fitted, _ = surrogate.posterior(inputs, y, inputs)
        assert np.sqrt(np.mean((fitted - y) ** 2)) < 0.5 * np.std(y)
    np.testing.assert_array_equal(predictions[0], predictions[1])


@pytest.mark.parametrize("noise_floor", [1e-3, 1e-2])
def test_fitted_noise_never_drops_below_the_floor(noise_floor):
    # Noise-free targets: the marginal likelihood alone would drive the noise down.
    inputs, y = _data(60)
    surrogate = DeepKernelSurrogate(
        LAYOUT, scratch_steps=300, learning_rate=0.05, noise_floor=noise_floor
    )
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    for _ in range(5):  # warm-started refits keep walking downhill
        assert surrogate.fit(inputs, y, from_scratch=False, seed=0)
    noise = surrogate.model.likelihood.noise.item()
    assert noise_floor <= noise < 1.2 * noise_floor


def test_noise_floor_must_be_positive():
    with pytest.raises(ValueError, match="noise_floor must be > 0, got 0"):
        DeepKernelSurrogate(LAYOUT, noise_floor=0)


def test_failed_fit_keeps_the_previous_model_and_logs(caplog):
    inputs, y = _data(30)
    surrogate = DeepKernelSurrogate(LAYOUT, scratch_steps=20, refine_steps=5)
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
    assert np.all(np.isfinite(surrogate.posterior(inputs, y, inputs[:2])[0]))


def test_predict_before_any_fit_raises_unavailable():
    inputs, y = _data(5)
    with pytest.raises(SurrogateUnavailableError):
        DeepKernelSurrogate(LAYOUT).posterior(inputs, y, inputs)


def test_fit_on_more_points_than_the_cap_uses_a_subset_but_conditions_on_all():
    inputs, y = _data(60)
    surrogate = DeepKernelSurrogate(LAYOUT, scratch_steps=10, max_fit_points=20)
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    assert surrogate.model.train_inputs[0].shape[0] == 20
    assert surrogate.posterior(inputs, y, inputs)[0].shape == (60,)


def test_posterior_on_appended_rows_matches_one_computed_from_scratch():
    inputs, y = _data(60)
    test_inputs, _ = _data(8, seed=2)
    surrogate = DeepKernelSurrogate(LAYOUT, scratch_steps=20)
    assert surrogate.fit(inputs[:40], y[:40], from_scratch=True, seed=0)
    surrogate.posterior(inputs[:40], y[:40], test_inputs[:5])
    for n in (41, 50, 60):  # extends the cached factorization and columns
        extended = surrogate.posterior(inputs[:n], y[:n], test_inputs, inputs[:2])
    assert len(surrogate._cache[0]) == 60
    surrogate._cache = None
    fresh = surrogate.posterior(inputs, y, test_inputs, inputs[:2])
    np.testing.assert_allclose(extended[0], fresh[0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(extended[1], fresh[1], rtol=1e-6, atol=1e-9)
    changed = inputs.copy()
    changed[5, 0] += 0.5  # an earlier row changed: the factorization is rebuilt
    rebuilt = surrogate.posterior(changed, y, test_inputs)
    assert surrogate._cache[0] is changed
    assert not np.allclose(rebuilt[0], fresh[0])


def test_a_refit_forgets_the_cached_columns():
    inputs, y = _data(30)
    test_inputs, _ = _data(4, seed=3)
    surrogate = DeepKernelSurrogate(LAYOUT, scratch_steps=10, refine_steps=10)
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    before = surrogate.posterior(inputs, y, test_inputs)
    assert surrogate.fit(inputs, y, from_scratch=False, seed=1)
    after = surrogate.posterior(inputs, y, test_inputs)
    surrogate._cache = None
    np.testing.assert_allclose(after[0], surrogate.posterior(inputs, y, test_inputs)[0])
    assert not np.allclose(before[0], after[0])


def test_a_posterior_at_levels_equals_that_at_the_rows_predicting_them():
    inputs, y = _data(40)
    test_inputs, _ = _data(6, seed=4)
    levels = np.array([[1, 2, 3, 4, 5, 5], [5, 5, 4, 3, 2, 1]])
    surrogate = DeepKernelSurrogate(LAYOUT, scratch_steps=10)
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    rows = LAYOUT.at_levels(test_inputs, levels)
    direct = surrogate.posterior(inputs, y, rows, inputs[:2])
    for _ in range(2):  # new columns, then the kept ones
        at_levels = surrogate.posterior(inputs, y, test_inputs, inputs[:2], levels=levels)
        np.testing.assert_allclose(at_levels[0], direct[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(at_levels[1], direct[1], rtol=1e-8, atol=1e-10)
    other = surrogate.posterior(inputs, y, test_inputs, levels=levels[::-1])
    np.testing.assert_allclose(other[0], direct[0].reshape(2, 6)[::-1].ravel(), rtol=1e-10)
