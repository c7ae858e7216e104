"""boto3 clients of the SageMaker backend: lazy import, region, endpoints, retries."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from syne_dyhpo.backends._job_backend import check_int

logger = logging.getLogger(__name__)

SERVICES = ("sagemaker", "s3", "logs", "sts")
RETRY_MODE = "standard"  # exponential backoff with jitter on throttling and transient errors


def import_boto3() -> Any:
    try:
        import boto3
    except ImportError as error:
        raise ImportError("SageMakerBackend needs boto3: pip install 'syne-dyhpo[aws]'") from error
    return boto3


def known_regions(boto3: Any) -> set[str]:
    """Regions with SageMaker in the endpoint data of the installed botocore."""
    session = boto3.session.Session()
    return {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sagemaker", partition_name=partition)
    }


class AwsClients:
    """One boto3 client per service, created on first use, all in one region.

    Credentials come from boto3's usual chain (environment, profile, instance
    role); they are never read or logged here.

    :param region_name: ``None``: the region of the default session (``AWS_REGION``,
        ``AWS_DEFAULT_REGION`` or the profile's).
    :param endpoint_urls: service name (``"sagemaker"``, ``"s3"``, ``"logs"``,
        ``"sts"``) -> endpoint URL, e.g. VPC interface endpoints.
    :param profile_name: AWS profile of the session; ``None``: the default.
    :param max_attempts: attempts per API call, retries included.
    """

    def __init__(
        self,
        *,
        region_name: str | None,
        endpoint_urls: Mapping[str, str],
        profile_name: str | None,
        max_attempts: int,
    ):
        unknown = set(endpoint_urls) - set(SERVICES)
        if unknown:
            raise ValueError(f"endpoint_urls keys must be among {SERVICES}, got {sorted(unknown)}")
        boto3 = import_boto3()
        self._boto3 = boto3
        self.profile_name = profile_name
        self.endpoint_urls = dict(endpoint_urls)
        self.max_attempts = check_int("max_attempts", max_attempts, 1)
        self.region_name = region_name or self._session.region_name
        if self.region_name is None:
            raise ValueError(
                "No AWS region: pass region_name or set AWS_REGION / AWS_DEFAULT_REGION"
            )
        if self.region_name not in known_regions(boto3):
            raise ValueError(
                f"region_name {self.region_name!r} is not a SageMaker region known to the "
                "installed botocore; expected e.g. 'us-east-1' (upgrade botocore if the "
                "region is new)"
            )

    @cached_property
    def _session(self) -> Any:
        return self._boto3.session.Session(profile_name=self.profile_name)

    def client(self, service: str) -> Any:
        return self._clients[service]

    @cached_property
    def _clients(self) -> dict[str, Any]:
        from botocore.config import Config

        config = Config(retries={"mode": RETRY_MODE, "total_max_attempts": self.max_attempts})
        clients = {}
        for service in SERVICES:
            clients[service] = self._session.client(
                service,
                region_name=self.region_name,
                endpoint_url=self.endpoint_urls.get(service),
                config=config,
            )
        logger.debug("boto3 clients in %s, endpoints %s", self.region_name, self.endpoint_urls)
        return clients

    def __getstate__(self) -> dict[str, Any]:
        """Sessions and clients do not pickle (the Tuner is saved with dill)."""
        state = dict(self.__dict__)
        for name in ("_session", "_clients", "_boto3"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]):
        self.__dict__.update(state)
        self._boto3 = import_boto3()
