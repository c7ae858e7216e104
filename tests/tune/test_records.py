"""The output folder's records: the journal, results.csv and best_configuration.json."""

import csv
import json

import numpy as np

from syne_dyhpo.tune.records import Journal, ResultsTable, write_best


def test_the_journal_reads_back_what_was_appended_and_drops_a_torn_last_line(tmp_path):
    journal = Journal(tmp_path)
    journal.append("start", configuration_id=0, configuration={"n": np.int64(3), "k": object})
    journal.append("result", row={"epoch": 1, "metric": float("nan")})
    with open(journal.path, "a") as file:
        file.write('{"event": "res')  # a write cut off (disk full)
    start, result = journal.read()
    assert start["configuration"] == {"n": 3, "k": str(object)}
    assert result["event"] == "result" and np.isnan(result["row"]["metric"])
    assert Journal(tmp_path / "none").read() == []


def _read(path):
    with open(path) as file:
        return list(csv.DictReader(file))


def test_results_csv_gets_a_line_per_row_and_a_new_header_for_a_new_column(tmp_path):
    table, rows = ResultsTable(tmp_path), []
    for row in [{"epoch": 1, "metric": 0.5}, {"epoch": 2, "metric": 0.4}]:
        rows.append(row)
        table.append(row, rows)
    assert _read(table.path) == [{"epoch": "1", "metric": "0.5"}, {"epoch": "2", "metric": "0.4"}]
    rows.append({"epoch": 3, "metric": 0.3, "acc": 0.9})
    table.append(rows[-1], rows)
    assert [r["acc"] for r in _read(table.path)] == ["", "", "0.9"]
    assert not list(tmp_path.glob("*.tmp"))


def test_best_configuration_is_replaced_whole(tmp_path):
    write_best(tmp_path, {"metric": 1.0, "checkpoint_path": tmp_path})
    write_best(tmp_path, {"metric": 0.5})
    assert json.loads((tmp_path / "best_configuration.json").read_text()) == {"metric": 0.5}
