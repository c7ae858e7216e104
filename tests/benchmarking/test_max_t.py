"""The max_t benchmark in a smoke run: one table row per max_t, and the figure."""

from benchmarking import max_t


def test_a_smoke_run_prints_a_row_per_max_t_and_draws_the_figure(capsys, tmp_path):
    figure = tmp_path / "max_t.png"
    max_t.main(["--max-t", "20", "5000", "--observations", "6", "--plot", str(figure)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("| max_t | decisions | median ms")
    rows = [line.strip("|").split("|") for line in lines[3:5]]
    assert [row[0].strip() for row in rows] == ["20", "5,000"]
    for row in rows:
        decisions, median, p95, worst = int(row[1]), *map(float, row[2:5])
        assert decisions >= 6 and 0 <= median <= p95 <= worst
        assert float(row[7]) < 64  # ledger kB
    assert figure.stat().st_size > 0 and lines[-1] == f"figure: {figure}"
