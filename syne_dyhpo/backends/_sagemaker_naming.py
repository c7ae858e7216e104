"""Names of training jobs and S3 locations of a tuning run."""

from __future__ import annotations

import re

MAX_JOB_NAME = 63  # SageMaker: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
TOKEN_LENGTH = 6


def job_name_prefix(tuner_name: str, token: str) -> str:
    """``<tuner name, cleaned and cut>-<token>``, short enough for any trial and job
    index below 10**7: the token (random per backend) keeps runs of the same
    tuner name apart."""
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", tuner_name).strip("-") or "trial"
    room = MAX_JOB_NAME - len(token) - 2 * 8  # "-<token>", then "-<trial>-<job>" up to 7 digits
    return f"{cleaned[:room].rstrip('-')}-{token}"


def job_name(prefix: str, trial_id: int, job_index: int) -> str:
    """Name of the ``job_index``-th job (0: start, 1...: resumes) of a trial."""
    name = f"{prefix}-{trial_id}-{job_index}"
    if not JOB_NAME.fullmatch(name):
        raise ValueError(
            f"job name {name!r} is not a valid SageMaker training job name "
            f"(letters, digits and '-', at most {MAX_JOB_NAME} characters)"
        )
    return name


def s3_uri(bucket: str, *parts: str) -> str:
    return "s3://" + "/".join([bucket, *(part.strip("/") for part in parts if part.strip("/"))])


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``"s3://bucket/a/b"`` -> ``("bucket", "a/b")``."""
    if not uri.startswith("s3://"):
        raise ValueError(f"expected an S3 URI such as 's3://bucket/key', got {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key
