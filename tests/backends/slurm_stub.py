"""A stand-in for SLURM's commands, for tests that need a job script run but
not a cluster: ``sbatch`` runs the script with bash at once, in the script's
folder, with its output and error next to it, and logs its arguments;
``squeue`` knows no job; ``scancel`` does nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SBATCH = """#!/bin/bash
echo "$@" >> "{log}"
script="${{@: -1}}"
cd "$(dirname "$script")" && bash "$script" > "${{script%.sh}}.out" 2> "${{script%.sh}}.err"
echo 7
"""


class SlurmStub:
    """The stub commands in ``bin``; ``calls`` are the ``sbatch`` calls so far."""

    def __init__(self, folder: Path):
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True)
        self.log = folder / "sbatch.log"
        self._write("sbatch", SBATCH.format(log=self.log))
        self._write("squeue", "#!/bin/bash\n")
        self._write("scancel", "#!/bin/bash\n")

    def _write(self, name: str, text: str) -> None:
        path = self.bin / name
        path.write_text(text)
        path.chmod(0o755)

    @property
    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def slurm_stub(tmp_path_factory, monkeypatch) -> SlurmStub:
    stub = SlurmStub(tmp_path_factory.mktemp("slurm-stub"))
    monkeypatch.setenv("PATH", f"{stub.bin}:{os.environ['PATH']}")
    return stub
