import pytest

from benchmarking.early_budget import early_stats


def _record() -> dict:
    # trial 0 trained to level 7 by t=70, trial 1 to level 2; budget 100 s
    results = {"time": [], "value": [], "trial_id": [], "level": []}
    for level in range(1, 8):
        results["time"].append(10.0 * level)
        results["value"].append(1.0 - 0.1 * level)
        results["trial_id"].append(0)
        results["level"].append(level)
    for level in (1, 2):
        results["time"].append(5.0 + 10.0 * level)
        results["value"].append(0.9)
        results["trial_id"].append(1)
        results["level"].append(level)
    decisions = {"time": [0.0, 0.0, 40.0], "seconds": [0.1, 0.1, 0.1], "new": [True, True, False]}
    return {
        "budget": 100.0,
        "results": results,
        "decisions": decisions,
        "do_minimize": True,
        "table_best": 0.0,
        "table_worst": 1.0,
    }


def test_early_stats_count_what_the_first_part_of_the_budget_went_to():
    stats = early_stats(_record(), 0.5)  # t <= 50: trial 0 at levels 1-5, trial 1 at 1-2
    assert stats["started"] == 2 and stats["levels"] == 7 and stats["max_level"] == 5
    assert stats["past_5"] == 0 and stats["shallow_share"] == pytest.approx(2 / 7)
    assert stats["start_share"] == pytest.approx(2 / 3)
    assert stats["regret"] == pytest.approx(0.5) and stats["best_level"] == 5
    assert early_stats(_record(), 1.0)["past_5"] == 1
