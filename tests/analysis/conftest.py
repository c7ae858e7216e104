"""Real runs shared by the analysis and plot tests, made once per session."""

import pytest

from tests.analysis import runs


@pytest.fixture(scope="session")
def tuner_folder(tmp_path_factory):
    return runs.tuner_run(tmp_path_factory.mktemp("tuner"))


@pytest.fixture(scope="session")
def resumed_folder(tmp_path_factory):
    return runs.killed_and_resumed_run(tmp_path_factory.mktemp("resumed"))


@pytest.fixture(scope="session")
def tune_folder(tmp_path_factory):
    return runs.tune_run(tmp_path_factory.mktemp("tune"))


@pytest.fixture(scope="session")
def benchmark_record(tmp_path_factory):
    return runs.benchmark_record(tmp_path_factory.mktemp("benchmark"))


@pytest.fixture(scope="session")
def misbehaving_tune_folder(tmp_path_factory):
    return runs.misbehaving_tune_run(tmp_path_factory.mktemp("misbehaving"))
