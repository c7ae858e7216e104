import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syne_tune.config_space import (
    choice,
    finrange,
    logfinrange,
    lograndint,
    loguniform,
    ordinal,
    randint,
    reverseloguniform,
    uniform,
)
from syne_tune.optimizer.schedulers.searchers.utils.hp_ranges_factory import (
    make_hyperparameter_ranges,
)

from syne_dyhpo.spaces.encoding import ConfigEncoder

ALL_PRIMITIVES = {
    "u": uniform(-1.0, 1.0),
    "lu": loguniform(1e-5, 1.0),
    "rlu": reverseloguniform(0.0, 0.9999),
    "ri": randint(1, 8),
    "lri": lograndint(1, 1024),
    "ch": choice(["relu", "tanh", "gelu"]),
    "ord": ordinal([16, 32, 64]),
    "fr": finrange(0.0, 1.0, 5),
    "lfr": logfinrange(1.0, 100.0, 3),
    "const": "adam",
    "epochs": 10,
}


def test_every_primitive_encodes_into_the_unit_cube_and_constants_pass_through():
    encoder = ConfigEncoder(ALL_PRIMITIVES)
    configs = encoder.sample(np.random.RandomState(0), 50)
    X = encoder.encode(configs)
    assert X.shape == (50, encoder.dim)
    assert encoder.dim == 11  # 8 one-dimensional domains + 3 one-hot choices
    assert np.all((X >= 0.0) & (X <= 1.0))
    full = encoder.full_config(configs[0])
    assert full["const"] == "adam" and full["epochs"] == 10
    assert set(full) == set(ALL_PRIMITIVES)


def test_samples_are_drawn_from_every_domain_with_its_types():
    encoder = ConfigEncoder(ALL_PRIMITIVES)
    configs = encoder.sample(np.random.RandomState(1), 200)
    assert len(configs) == 200 and len(encoder.sample(np.random.RandomState(1), 1)) == 1
    assert encoder.sample(np.random.RandomState(1), 0) == []
    for name, domain in encoder.tunable.items():
        values = [c[name] for c in configs]
        assert all(domain.is_valid(v) for v in values if not name.endswith("fr")), name
        assert len(set(values)) > 1, name
    assert {type(c["ri"]) for c in configs} == {int}
    assert {c["ch"] for c in configs} == {"relu", "tanh", "gelu"}


def _bounds(draw, log: bool) -> tuple[float, float]:
    low = draw(st.floats(1e-6, 1e3) if log else st.floats(-1e3, 1e3))
    return low, low + draw(st.floats(0.0, 1e3))


@st.composite
def spaces(draw) -> dict:
    """Float and integer domains (encoded by the package) among others (by Syne Tune)."""
    space = {}
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["u", "lu", "rlu", "ri", "lri", "ch"]))
        if kind in ("u", "lu"):
            low, high = _bounds(draw, kind == "lu")
            space[f"{kind}{i}"] = (loguniform if kind == "lu" else uniform)(low, high)
        elif kind == "rlu":
            low = draw(st.floats(0.0, 0.9))
            space[f"{kind}{i}"] = reverseloguniform(low, draw(st.floats(low, 0.999)))
        elif kind in ("ri", "lri"):
            low = draw(st.integers(1, 100))
            space[f"{kind}{i}"] = (lograndint if kind == "lri" else randint)(
                low, low + draw(st.integers(0, 100))
            )
        else:
            space[f"{kind}{i}"] = choice(["a", "b", "c"])
    return space


@settings(max_examples=60, deadline=None)
@given(space=spaces(), seed=st.integers(0, 2**31 - 1))
def test_encoding_is_syne_tunes_value_for_value(space, seed):
    encoder = ConfigEncoder(space)
    configs = encoder.sample(np.random.RandomState(seed), 20)
    ranges = make_hyperparameter_ranges(space)
    direct = np.vstack([ranges.to_ndarray(c) for c in configs])
    np.testing.assert_allclose(encoder.encode(configs), direct, rtol=0, atol=1e-12)


def test_a_value_outside_its_domain_is_refused_naming_it():
    encoder = ConfigEncoder({"lr": loguniform(1e-4, 1.0), "units": randint(1, 8)})
    with pytest.raises(ValueError, match=r"'units': value 9 is outside its domain \[1.0, 8.0\]"):
        encoder.encode([{"lr": 0.1, "units": 2}, {"lr": 0.1, "units": 9}])


def test_log_scaled_domains_are_encoded_on_their_log_scale():
    encoder = ConfigEncoder({"lr": loguniform(1e-4, 1.0)})
    X = encoder.encode([{"lr": 1e-4}, {"lr": 1e-2}, {"lr": 1.0}])
    np.testing.assert_allclose(X[:, 0], [0.0, 0.5, 1.0], atol=1e-9)


def test_complete_fills_missing_values_with_midpoints_and_validates():
    encoder = ConfigEncoder({"lr": loguniform(1e-4, 1.0), "n": randint(1, 9)})
    config = encoder.complete({"n": 3})
    assert config["n"] == 3
    assert config["lr"] == pytest.approx(1e-2)
    with pytest.raises(ValueError, match="'n'"):
        encoder.complete({"n": 42})
    with pytest.raises(ValueError, match="not in config_space"):
        encoder.complete({"momentum": 0.9})


def test_keys_identify_equal_configurations():
    encoder = ConfigEncoder({"ch": choice(["a", "b"]), "n": randint(1, 3)})
    assert encoder.key({"ch": "a", "n": 2}) == encoder.key({"n": 2, "ch": "a", "other": 1})
    assert encoder.key({"ch": "a", "n": 2}) != encoder.key({"ch": "b", "n": 2})
    assert encoder.size == 6


@pytest.mark.parametrize(
    ("space", "name"),
    [
        ({"act": choice([["relu"], ["tanh"]])}, "act"),
        ({"layers": [1, 2, 3]}, "layers"),
        ({"x": uniform(0, 1), "obj": object()}, "obj"),
    ],
)
def test_malformed_spaces_are_rejected_naming_the_hyperparameter(space, name):
    with pytest.raises(ValueError, match=f"'{name}'"):
        ConfigEncoder(space)


def test_space_of_only_constants_is_rejected():
    with pytest.raises(ValueError, match="no hyperparameter to tune"):
        ConfigEncoder({"epochs": 10})


_POINT_SPACE = {
    "a": randint(1, 5),
    "b": uniform(0.0, 1.0),
    "c": choice(["x", "y"]),
    "f": finrange(0.0, 1.0, 5),
    "k": 3,
}


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"a": 2.5}, "value 2.5 of 'a' is not an integer; expected one in its domain"),
        ({"a": True}, "value True of 'a' is a bool; expected a number"),
        ({"b": "0.5"}, "value '0.5' of 'b' is a str; expected a number"),
        ({"k": 4}, "'k' is the constant 3 in config_space; got 4"),
        ({"c": "z"}, "value 'z' of 'c' is not in its domain"),
        ({"f": 0.3}, "value 0.3 of 'f' is not in its domain"),
    ],
)
def test_points_to_evaluate_with_a_value_outside_its_domain_are_refused(point, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ConfigEncoder(_POINT_SPACE).complete(point)


def test_points_to_evaluate_keep_their_values_as_the_domain_types_them():
    config = ConfigEncoder(_POINT_SPACE).complete({"a": 2.0, "f": 0.25, "k": 3})
    assert config["a"] == 2 and isinstance(config["a"], int)
    assert config["f"] == 0.25 and "k" not in config
