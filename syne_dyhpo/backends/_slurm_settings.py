"""Checks of everything that reaches a SLURM job script, made before any job.

``#SBATCH`` lines are bash comments, so a value can only escape its line
through a line break: values that sbatch reads (partition, account, time,
memory, ``sbatch_lines``) must be single lines of printable characters, the
named ones from the character sets below. Shell text the user writes on
purpose (``setup_lines``, ``binary``) must be single lines too. Paths and
configuration values are quoted in the script; configuration keys become
``--key`` arguments and must be command-line names (or go through the JSON
file, ``pass_args_as_json=True``), values must be free of NUL characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PARTITION = re.compile(r"[A-Za-z0-9_.+-]+(,[A-Za-z0-9_.+-]+)*")  # one or a list
ACCOUNT = re.compile(r"[A-Za-z0-9_.+-]+")
TIME_LIMIT = re.compile(r"[0-9]+([-:][0-9]+)*")  # sbatch --time: "30", "1:00:00", "1-00:00:00"
MEMORY = re.compile(r"[0-9]+[KMGT]?")  # sbatch --mem: "8G", "4096"
CONFIG_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")  # argparse-style option names
JOB_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # all but the tab
PATH_UNSAFE = re.compile(r"[\s%\\\"'\x00-\x1f\x7f]")  # #SBATCH --output: no quoting, % patterns

# sbatch options the backend sets itself, by long name -> short name and the setting to use
OWN_OPTIONS = {
    "job-name": ("J", None),
    "output": ("o", None),
    "error": ("e", None),
    "requeue": (None, None),
    "no-requeue": (None, None),
    "array": ("a", None),
    "wrap": (None, None),
    "parsable": (None, None),
    "partition": ("p", "partition"),
    "account": ("A", "account"),
    "time": ("t", "time_limit"),
    "cpus-per-task": ("c", "cpus_per_trial"),
    "mem": (None, "memory"),
}


def check_value(name: str, value: str | None, pattern: re.Pattern, example: str) -> str | None:
    """``value`` if ``None`` or a string that matches ``pattern`` in full."""
    if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
        raise ValueError(
            f"{name} must be a string of the characters {pattern.pattern} such as {example!r}, "
            f"got {value!r}"
        )
    return value


def check_line(name: str, line: Any) -> str:
    """``line`` if it is a string on one line without control characters."""
    if not isinstance(line, str) or CONTROL.search(line):
        raise ValueError(
            f"{name} must be a single line without control characters (line breaks, ...), "
            f"got {line!r}"
        )
    return line


def check_lines(name: str, lines: Sequence[str]) -> list[str]:
    if isinstance(lines, str):
        raise ValueError(f"{name} must be a sequence of lines, not a str: got {lines!r}")
    return [check_line(f"each entry of {name}", line) for line in lines]


def _option_name(option: str) -> str:
    """``"--qos=short"`` -> ``"qos"``, ``"-q short"`` -> ``"q"``."""
    if option.startswith("--"):
        return re.split(r"[=\s]", option[2:], maxsplit=1)[0]
    return option[1:2]


def _own_option(name: str, *, gpus: bool) -> tuple[str, str | None] | None:
    """The backend's option that ``name`` (long, maybe abbreviated, or short) means."""
    if name == "gres" and gpus:
        return "gres", "gpus_per_trial"
    for long, (short, setting) in OWN_OPTIONS.items():
        if name == short or (len(name) > 1 and long.startswith(name)):
            return long, setting
    return None


def sbatch_option(line: str, *, gpus: bool) -> str:
    """``"--qos=short"`` or ``"#SBATCH --qos=short"`` -> ``"--qos=short"``; an
    option the backend sets itself is refused.

    :param gpus: ``gpus_per_trial`` is positive (the backend sets ``--gres``).
    """
    option = check_line("each entry of sbatch_lines", line).strip()
    option = option.removeprefix("#SBATCH").strip()
    if not option.startswith("-"):
        raise ValueError(
            f"sbatch_lines entries must be sbatch options such as '--qos=short', got {line!r}"
        )
    own = _own_option(_option_name(option), gpus=gpus)
    if own is not None:
        long, setting = own
        instead = f"set {setting}= instead" if setting else "the backend needs its own value"
        raise ValueError(
            f"sbatch_lines entry {line!r} sets --{long}, which SlurmBackend sets itself: {instead}"
        )
    return option


def job_name(tuner_name: str, trial_id: int) -> str:
    """``<tuner name>-<trial id>``, characters outside ``[A-Za-z0-9_.+-]`` as ``_``."""
    return JOB_NAME_UNSAFE.sub("_", f"{tuner_name}-{trial_id}")


def check_job_folder(folder: Path) -> Path:
    """A folder whose files ``#SBATCH --output`` and ``--error`` can name."""
    if PATH_UNSAFE.search(str(folder)):
        raise ValueError(
            f"SlurmBackend writes job outputs to {str(folder)!r}, which sbatch reads from "
            "#SBATCH lines: the path must not contain whitespace, control characters, %, \\ "
            "or quotes; choose another folder with Tuner(trial_backend_path=...)"
        )
    return folder


def check_arguments(config: Mapping[str, Any]) -> None:
    """A configuration passed as ``--key value`` arguments: keys must be
    command-line names, values free of NUL characters (no argument carries one)."""
    for key, value in config.items():
        if not isinstance(key, str) or not CONFIG_KEY.fullmatch(key):
            raise ValueError(
                f"configuration key {key!r} cannot be passed to the training script as --key: "
                f"keys must match {CONFIG_KEY.pattern}; rename it, or pass the configuration "
                "as a JSON file with pass_args_as_json=True"
            )
        if "\x00" in str(value):
            raise ValueError(
                f"configuration value {key}={value!r} contains a NUL character, which no "
                "command-line argument can carry; pass the configuration as a JSON file with "
                "pass_args_as_json=True"
            )
