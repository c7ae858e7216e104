"""S3 side of the SageMaker backend: the source archive and trial checkpoints."""

from __future__ import annotations

import io
import logging
import tarfile
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

EXCLUDED = {"__pycache__", ".git", ".ipynb_checkpoints"}


def source_archive(source_dir: Path) -> bytes:
    """``source_dir`` as the gzipped tarball SageMaker's training toolkit unpacks
    into ``/opt/ml/code`` (files at the archive's root)."""

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if EXCLUDED & set(Path(info.name).parts) else info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(source_dir.iterdir()):
            archive.add(path, arcname=path.name, filter=keep)
    return buffer.getvalue()


def upload_source(s3: Any, source_dir: Path, bucket: str, key: str) -> None:
    data = source_archive(source_dir)
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    logger.info("Uploaded %s (%d bytes) to s3://%s/%s", source_dir, len(data), bucket, key)


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    paginator = s3.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def copy_prefix(s3: Any, bucket: str, source: str, target: str) -> None:
    """Copy every object under ``source/`` to the same relative key under ``target/``."""
    source, target = source.rstrip("/") + "/", target.rstrip("/") + "/"
    for key in _keys(s3, bucket, source):
        s3.copy_object(
            Bucket=bucket,
            Key=target + key[len(source) :],
            CopySource={"Bucket": bucket, "Key": key},
        )


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    keys = _keys(s3, bucket, prefix)
    for start in range(0, len(keys), 1000):  # delete_objects takes at most 1000 keys
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
