"""Fixtures of the backend tests."""

from tests.backends.slurm_stub import slurm_stub  # noqa: F401
