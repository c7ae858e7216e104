"""The files a run of :func:`syne_dyhpo.tune` keeps in its output folder, each
whole at every moment, so that a killed run leaves a readable record and can
be resumed:

- ``journal.jsonl``: the run's settings, then every configuration started,
  epoch reported and configuration failed, one JSON line each, appended with
  a single write; the record a resumed run is rebuilt from.
- ``results.csv``: one row per reported epoch, appended with a single write
  (rewritten through a temporary file when a row brings a new column).
- ``best_configuration.json``: the incumbent, replaced through a temporary file.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

JOURNAL_FILE = "journal.jsonl"
RESULTS_FILE = "results.csv"
BEST_FILE = "best_configuration.json"


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text``: a process killed meanwhile leaves the old file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def append_whole(path: Path, text: str) -> None:
    """Append ``text`` with one ``write``: a killed process leaves all or nothing of it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


class Journal:
    """``journal.jsonl`` of a run folder: events as dicts with an ``"event"`` key."""

    def __init__(self, folder: Path):
        self.path = folder / JOURNAL_FILE

    def append(self, event: str, **content: Any) -> None:
        """Numpy scalars are written as numbers, other objects JSON cannot
        hold (constants of a config space) as their ``str``."""
        line = json.dumps({"event": event, **content}, default=_plain)
        append_whole(self.path, line + "\n")

    def read(self) -> list[dict[str, Any]]:
        """The events in the order they were written (none if there is no journal)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text().split("\n")
        return [json.loads(line) for line in lines[:-1]]  # the last is empty when complete


def _csv_text(rows: list[Mapping[str, Any]], columns: list[str], header: bool) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns)
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


class ResultsTable:
    """``results.csv``: every row written so far, columns in order of first appearance."""

    def __init__(self, folder: Path):
        self.path = folder / RESULTS_FILE
        self.columns: list[str] = []

    def rewrite(self, rows: list[Mapping[str, Any]]) -> None:
        self.columns = list(dict.fromkeys(key for row in rows for key in row))
        write_atomically(self.path, _csv_text(rows, self.columns, header=True))

    def append(self, row: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> None:
        """Add ``row``, the last of ``rows`` (all rows, for a new header)."""
        if not self.columns or not set(row) <= set(self.columns):
            self.rewrite(rows)
        else:
            append_whole(self.path, _csv_text([row], self.columns, header=False))


def write_best(folder: Path, content: Mapping[str, Any]) -> None:
    write_atomically(folder / BEST_FILE, json.dumps(content, indent=2, default=str))
