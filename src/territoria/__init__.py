"""Territoria: carry out, teach and evaluate territorial participatory planning.

The public surface is small: the version, the exception hierarchy and the
workspace/configuration helpers. Everything else lives in sub-packages
(``analysis``, ``instruments``, ``ingest``, ``report``, ``pipeline``, ``sample``).

Examples
--------
>>> import territoria
>>> isinstance(territoria.__version__, str)
True
"""

from importlib.metadata import PackageNotFoundError, version

from territoria.exceptions import (
    AnalysisError,
    ConfigError,
    DataError,
    IngestError,
    InstrumentError,
    PipelineError,
    StoreError,
    TerritoriaError,
)

try:
    __version__ = version("territoria")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "__version__",
    "TerritoriaError",
    "AnalysisError",
    "ConfigError",
    "DataError",
    "IngestError",
    "InstrumentError",
    "PipelineError",
    "StoreError",
]
