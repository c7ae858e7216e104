"""Checks of the SageMaker backend's settings, made before any job starts."""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?"
    r"/[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?"
)
INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9-]+\.[a-z0-9]+")
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def check_role(role: str | None) -> str:
    if not role or not ROLE_ARN.fullmatch(role):
        raise ValueError(
            f"role must be the ARN of an IAM role SageMaker can assume, such as "
            f"'arn:aws:iam::123456789012:role/SageMakerRole', got {role!r}"
        )
    return role


def check_image(image_uri: str, region_name: str) -> str:
    match = ECR_IMAGE.fullmatch(image_uri or "")
    if match is None:
        raise ValueError(
            "image_uri must be an ECR image URI such as "
            "'763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311', "
            f"got {image_uri!r}"
        )
    if match["region"] != region_name:
        logger.warning(
            "image_uri is in region %s but the jobs run in %s: SageMaker may not pull it",
            match["region"],
            region_name,
        )
    return image_uri


def check_instance_type(instance_type: str) -> str:
    if not isinstance(instance_type, str) or not INSTANCE_TYPE.fullmatch(instance_type):
        raise ValueError(
            f"instance_type must be a SageMaker instance type such as 'ml.m5.xlarge', "
            f"got {instance_type!r}"
        )
    return instance_type


def default_bucket(sts: Any, region_name: str) -> str:
    """SageMaker's default bucket name, ``sagemaker-<region>-<account>``."""
    account = sts.get_caller_identity()["Account"]
    return f"sagemaker-{region_name}-{account}"


def check_bucket(s3: Any, bucket: str) -> str:
    """The bucket must exist and be reachable with the current credentials."""
    from botocore.exceptions import ClientError

    if not isinstance(bucket, str) or not BUCKET.fullmatch(bucket):
        raise ValueError(f"bucket must be an S3 bucket name such as 'my-bucket', got {bucket!r}")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchBucket"):
            raise ValueError(
                f"S3 bucket {bucket!r} does not exist: create it in the jobs' region or "
                "pass bucket= an existing one"
            ) from None
        if code in ("403", "AccessDenied"):
            raise ValueError(
                f"S3 bucket {bucket!r} is not accessible with the current credentials "
                "(s3:ListBucket denied)"
            ) from None
        raise
    return bucket
