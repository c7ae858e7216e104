"""The single-node SLURM cluster of ``scripts/slurm_cluster.sh``, as a pytest fixture.

The tests use the cluster named by ``SLURM_CONF`` if that is set, otherwise
the test cluster in ``${TMPDIR:-/tmp}/syne-dyhpo-slurm``, started here (as
root) when it is not running and stopped after the session. They are skipped
only where ``sbatch`` does not exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "scripts" / "slurm_cluster.sh"
CLUSTER_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "syne-dyhpo-slurm"
COMMAND_TIMEOUT = 30  # seconds
NODE_READY_TIMEOUT = 60  # seconds


def slurm(*args: str) -> str:
    """Run a SLURM command (``sinfo``, ``squeue``, ``scontrol``) and return its stdout."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def node_states() -> list[str]:
    return slurm("sinfo", "--noheader", "--format=%T").split()


def cluster_answers() -> bool:
    try:
        return bool(node_states())
    except (RuntimeError, subprocess.TimeoutExpired):
        return False


def own_cluster_running() -> bool:
    """Whether the test cluster's controller runs (asked without ``sinfo``, which
    waits for a controller that is not there)."""
    status = [str(CLUSTER_SCRIPT), "status", str(CLUSTER_DIR)]
    return subprocess.run(status, capture_output=True, timeout=COMMAND_TIMEOUT).returncode == 0


def bring_node_back(node: str) -> None:
    """Resume ``node`` after a test set it down, and wait until it is idle.

    With ``ReturnToService=2`` the node may come back by itself between
    ``sinfo`` and ``scontrol``, which then refuses to resume it: that is fine.
    """
    if any("down" in state for state in node_states()):
        try:
            slurm("scontrol", "update", f"nodename={node}", "state=resume")
        except RuntimeError:
            if any("down" in state for state in node_states()):
                raise
    wait_until_node_idle()


def wait_until_node_idle() -> None:
    deadline = time.monotonic() + NODE_READY_TIMEOUT
    while not all(state.startswith("idle") for state in node_states()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"SLURM node not idle after {NODE_READY_TIMEOUT} s: {node_states()}")
        time.sleep(0.5)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[None]:
    """A SLURM cluster that answers ``sinfo``; ``SLURM_CONF`` points at it."""
    if shutil.which("sbatch") is None:
        pytest.skip("sbatch not found: install Debian's slurm-wlm to run the SLURM tests")
    with pytest.MonkeyPatch.context() as env:
        if "SLURM_CONF" in os.environ:
            if not cluster_answers():
                pytest.fail(f"SLURM_CONF={os.environ['SLURM_CONF']} names no running cluster")
            yield
            return
        env.setenv("SLURM_CONF", str(CLUSTER_DIR / "slurm.conf"))
        if own_cluster_running():
            yield
            return
        if os.geteuid() != 0:
            pytest.fail(f"no SLURM cluster running; start one as root: {CLUSTER_SCRIPT} start")
        subprocess.run([str(CLUSTER_SCRIPT), "start", str(CLUSTER_DIR)], check=True, timeout=120)
        try:
            yield
        finally:
            subprocess.run([str(CLUSTER_SCRIPT), "stop", str(CLUSTER_DIR)], timeout=60)
