"""Objectives for the tests of ``tune`` on conditional spaces (imported by
reference in the worker processes, so nothing heavy is imported here)."""


def optimizer_objective(configuration, epoch, previous_epoch, checkpoint_path):
    """Fails unless ``configuration`` holds exactly the active hyperparameters
    (``momentum`` for SGD, ``beta`` for Adam); best for Adam with beta 0.3."""
    expected = {"optimizer", "momentum" if configuration["optimizer"] == "sgd" else "beta"}
    if set(configuration) != expected:
        raise ValueError(f"configuration {configuration} should hold exactly {sorted(expected)}")
    value = 1.0 if configuration["optimizer"] == "sgd" else abs(configuration["beta"] - 0.3)
    return [{"epoch": e, "metric": value + 1.0 / e} for e in range(previous_epoch + 1, epoch + 1)]
