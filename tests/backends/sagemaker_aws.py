"""moto's server on 127.0.0.1 with the SageMaker runtime emulator, as a pytest fixture."""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from syne_dyhpo.backends.sagemaker import SageMakerBackend
from tests.backends.sagemaker_emulator import SageMakerRuntime

REGION = "us-east-1"
BUCKET = "syne-dyhpo-tests"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311"
SECRET = "test-secret-key-never-logged"


@dataclass
class Aws:
    endpoint_url: str
    runtime: SageMakerRuntime

    def client(self, service: str):
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    def backend(self, entry_point: Path, **kwargs) -> SageMakerBackend:
        """A backend on the emulator; ``kwargs`` override the defaults."""
        settings = {
            "role": ROLE,
            "image_uri": IMAGE,
            "bucket": BUCKET,
            "region_name": REGION,
            "endpoint_urls": dict.fromkeys(("sagemaker", "s3", "logs", "sts"), self.endpoint_url),
            "poll_interval": 0.0,
        }
        return SageMakerBackend(str(entry_point), **(settings | kwargs))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server in this process, on a free port of 127.0.0.1."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_endpoint, tmp_path, monkeypatch) -> Iterator[Aws]:
    """Fresh moto state with bucket ``BUCKET`` and the runtime emulator;
    credentials are dummies."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    runtime = SageMakerRuntime(moto_endpoint, REGION, tmp_path / "containers")
    runtime.install(monkeypatch)
    aws = Aws(moto_endpoint, runtime)
    aws.client("s3").create_bucket(Bucket=BUCKET)
    try:
        yield aws
    finally:
        runtime.shutdown()
        reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset).close()
