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
        mean, std = surrogate.predict(inputs, y, test_inputs)
        assert mean.shape == std.shape == (10,)
        assert np.all(std > 0)
        predictions.append(mean)
        fitted, _ = surrogate.predict(inputs, y, inputs)
        assert np.sqrt(np.mean((fitted - y) ** 2)) < 0.5 * np.std(y)
    np.testing.assert_array_equal(predictions[0], predictions[1])


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
    mean, _ = surrogate.predict(inputs, y, inputs[:2])
    assert np.all(np.isfinite(mean))


def test_predict_before_any_fit_raises_unavailable():
    inputs, y = _data(5)
    with pytest.raises(SurrogateUnavailableError):
        DeepKernelSurrogate(D, L).predict(inputs, y, inputs)


def test_fit_on_more_points_than_the_cap_uses_a_subset_but_conditions_on_all():
    inputs, y = _data(60)
    surrogate = DeepKernelSurrogate(D, L, scratch_steps=10, max_fit_points=20)
    assert surrogate.fit(inputs, y, from_scratch=True, seed=0)
    assert surrogate.model.train_inputs[0].shape[0] == 20
    mean, _ = surrogate.predict(inputs, y, inputs)
    assert mean.shape == (60,)
