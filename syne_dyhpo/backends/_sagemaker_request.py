"""The ``create_training_job`` request of one job of a trial."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syne_tune.constants import ST_CHECKPOINT_DIR, ST_CONFIG_JSON_FNAME_ARG

CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"  # synced with the trial's S3 checkpoint URI
CONFIG_CHANNEL = "st_config"  # input channel of the configuration (pass_args_as_json)
CONFIG_FILE = "config.json"
CONFIG_LOCAL_PATH = f"/opt/ml/input/data/{CONFIG_CHANNEL}/{CONFIG_FILE}"
MAX_HYPERPARAMETERS = 100  # SageMaker's limits on HyperParameters
MAX_KEY_LENGTH = 256
MAX_VALUE_LENGTH = 2500
# Fields the backend sets itself; extra_request may add any other field.
OWN_FIELDS = frozenset(
    {
        "TrainingJobName",
        "AlgorithmSpecification",
        "RoleArn",
        "HyperParameters",
        "ResourceConfig",
        "StoppingCondition",
        "OutputDataConfig",
        "CheckpointConfig",
        "Environment",
    }
)


def _hyperparameter(key: Any, value: Any) -> str:
    if not isinstance(key, str):
        raise ValueError(f"config key {key!r}: SageMaker hyperparameter names are strings")
    if key == ST_CHECKPOINT_DIR or key.startswith("sagemaker_"):
        raise ValueError(
            f"config key {key!r} is reserved: the backend sets {ST_CHECKPOINT_DIR!r} and "
            "the 'sagemaker_' hyperparameters"
        )
    if not isinstance(value, str | numbers.Number):
        raise ValueError(
            f"config[{key!r}] = {value!r}: SageMaker hyperparameters must be strings or "
            f"numbers, got {type(value).__name__}; or pass the configuration as a JSON file "
            "with pass_args_as_json=True"
        )
    return str(value)


def hyperparameters(
    config: Mapping[str, Any],
    *,
    program: str,
    submit_directory: str,
    region_name: str,
    as_json: bool = False,
) -> dict[str, str]:
    """The trial's configuration as strings, plus what SageMaker's training
    toolkit needs to run ``program`` from the uploaded source (the toolkit
    passes the others to the script as ``--key value``).

    :param as_json: the configuration arrives as a JSON file in the
        ``st_config`` input channel instead (``--st_config_json_filename``).
    """
    if as_json:
        values = {ST_CONFIG_JSON_FNAME_ARG: CONFIG_LOCAL_PATH}
    else:
        values = {key: _hyperparameter(key, value) for key, value in config.items()}
    values[ST_CHECKPOINT_DIR] = CHECKPOINT_LOCAL_PATH
    values["sagemaker_program"] = program
    values["sagemaker_submit_directory"] = submit_directory
    values["sagemaker_region"] = region_name
    if len(values) > MAX_HYPERPARAMETERS:
        raise ValueError(
            f"{len(values)} hyperparameters, SageMaker takes at most {MAX_HYPERPARAMETERS}"
        )
    for key, value in values.items():
        if len(key) > MAX_KEY_LENGTH or len(value) > MAX_VALUE_LENGTH:
            raise ValueError(
                f"hyperparameter {key!r}: SageMaker takes keys of at most {MAX_KEY_LENGTH} and "
                f"values of at most {MAX_VALUE_LENGTH} characters"
            )
    return values


@dataclass(frozen=True)
class JobTemplate:
    """What every job of a tuning run shares."""

    role: str
    image_uri: str
    instance_type: str
    instance_count: int
    volume_size_gb: int
    keep_alive_seconds: int
    max_run: int
    environment: Mapping[str, str]
    extra_request: Mapping[str, Any]

    def __post_init__(self):
        clash = OWN_FIELDS & set(self.extra_request)
        if clash:
            raise ValueError(
                f"extra_request must not set {sorted(clash)}: the backend sets them; "
                "use the backend's arguments instead"
            )

    def _resources(self) -> dict[str, Any]:
        resources = {
            "InstanceType": self.instance_type,
            "InstanceCount": self.instance_count,
            "VolumeSizeInGB": self.volume_size_gb,
        }
        if self.keep_alive_seconds:
            resources["KeepAlivePeriodInSeconds"] = self.keep_alive_seconds
        return resources

    def request(
        self,
        name: str,
        hyperparameters: dict[str, str],
        *,
        checkpoint_uri: str,
        output_uri: str,
        config_uri: str | None = None,
    ) -> dict[str, Any]:
        """:param config_uri: S3 prefix holding the configuration's JSON file,
        added as the ``st_config`` input channel."""
        channels = {}
        if config_uri is not None:
            source = {"S3DataType": "S3Prefix", "S3Uri": config_uri}
            source["S3DataDistributionType"] = "FullyReplicated"
            own = {"ChannelName": CONFIG_CHANNEL, "DataSource": {"S3DataSource": source}}
            channels["InputDataConfig"] = [*self.extra_request.get("InputDataConfig", []), own]
        return {
            **self.extra_request,
            **channels,
            "TrainingJobName": name,
            "AlgorithmSpecification": {
                "TrainingImage": self.image_uri,
                "TrainingInputMode": "File",
            },
            "RoleArn": self.role,
            "HyperParameters": hyperparameters,
            "ResourceConfig": self._resources(),
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_run},
            "OutputDataConfig": {"S3OutputPath": output_uri},
            "CheckpointConfig": {"S3Uri": checkpoint_uri, "LocalPath": CHECKPOINT_LOCAL_PATH},
            "Environment": dict(self.environment),
        }
