"""Imports of optional dependencies, failing with the extra that installs them."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """``import module``, or an :class:`ImportError` naming the pip extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{feature} needs {module.split('.')[0]}, which is not installed; "
            f"install the extra: pip install 'syne-dyhpo[{extra}]'"
        ) from err
