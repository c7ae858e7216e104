"""The tune() overhead benchmark in a smoke run: one line per worker count."""

import pytest

from benchmarking import tune_overhead


@pytest.mark.slow
def test_a_smoke_run_prints_the_overhead_per_epoch(capsys):
    tune_overhead.main(["--epochs", "6", "--workers", "1", "2"])
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.endswith("overhead ms/epoch")
    assert [line.split(" | ")[0] for line in lines] == ["1", "2"]
    for line in lines:
        workers, epochs, wall, decisions, overhead = map(float, line.split(" | "))
        assert 6 <= epochs <= 6 + workers - 1
        assert wall >= decisions >= 0 and overhead == pytest.approx(
            1000 * (wall - decisions) / epochs, abs=0.2 + 100 / epochs
        )
