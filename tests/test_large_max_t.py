"""DyHPO with levels that are training steps: ``max_t`` in the hundreds of
thousands, decisions by the model, memory independent of ``max_t``."""

import dill
import numpy as np
from syne_tune.config_space import loguniform, uniform

from syne_dyhpo import DyHPO
from syne_dyhpo.model_inputs import CURVE_POSITIONS
from tests.scheduler_driver import drive

MAX_T = 100_000


def steps_curve(config: dict, step: int) -> float:
    return (config["x"] - 0.5) ** 2 + 1.0 / step**0.3


def test_a_max_t_of_100_000_gets_model_decisions_in_bounded_memory():
    scheduler = DyHPO(
        {"x": uniform(-2.0, 2.0), "lr": loguniform(1e-3, 1.0), "steps": MAX_T},
        metric="loss",
        max_resource_attr="steps",
        random_seed=0,
        go_on=False,  # every level ends in a decision
        surrogate_kwargs={"scratch_steps": 30, "refine_steps": 5},
    )
    scores, score = [], scheduler.searcher._scores

    def recorded_score(*args, **kwargs):
        scores.append(score(*args, **kwargs))
        return scores[-1]

    scheduler.searcher._scores = recorded_score
    log = drive(scheduler, steps_curve, decisions=40, n_workers=2)
    assert len(scores) >= 30 and all(np.isfinite(s).any() for s in scores)
    assert scheduler.searcher.surrogate.model is not None  # scored by the model
    assert scheduler.counts.resumes > 0 and len(log.results) >= 40
    layout = scheduler.searcher.inputs.layout
    assert layout.width == scheduler.encoder.dim + 1 + 2 * CURVE_POSITIONS
    # dense (trials, max_t) arrays of two floats would hold 2 * 16 * 8 * MAX_T = 25.6 MB
    assert scheduler.trials.nbytes < 64 * 1024
    assert len(dill.dumps(scheduler.trials)) < 64 * 1024
    assert len(dill.dumps(scheduler)) < 16 * 2**20  # the tuner snapshot's share
