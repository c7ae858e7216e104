from syne_dyhpo.analysis._segments import closed_log


def _event(kind, seconds, trial_id=None, level=None):
    return {"event": kind, "seconds": seconds, "trial_id": trial_id, "level": level}


def test_an_ending_replayed_after_a_kill_that_came_after_a_resume_is_dropped():
    log = [
        _event("tuning_start", 0.0),
        _event("start", 0.1, 0),
        _event("pause", 0.2, 0, level=1),
        _event("resume", 0.3, 0),  # then the tuner is killed, before its snapshot
        _event("pause", 0.2, 0, level=1),  # the resumed tuner replays the report and its pause
        _event("tuning_start", 0.25),
        _event("resume", 0.4, 0),
        _event("pause", 0.5, 0, level=2),
    ]
    closed = closed_log(log)
    assert closed.query("event == 'pause'")["level"].tolist() == [1, 2]
    # the resumed segment the kill cut short ends when the tuner starts again
    assert closed.query("event == 'interrupt'")["trial_id"].tolist() == [0]


def test_a_replayed_ending_of_a_trial_not_resumed_since_is_dropped_and_a_new_one_kept():
    log = [
        _event("tuning_start", 0.0),
        _event("start", 0.1, 0),
        _event("pause", 0.2, 0, level=1),
        _event("pause", 0.2, 0, level=1),  # replayed: no launch since the last ending
        _event("tuning_start", 0.25),
        _event("resume", 0.3, 0),
        _event("pause", 0.35, 0, level=1),  # a resumed run may end at the same level
    ]
    pauses = closed_log(log).query("event == 'pause'")[["seconds", "level"]].values.tolist()
    assert pauses == [[0.2, 1], [0.35, 1]]
