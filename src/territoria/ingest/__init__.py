"""Ingestion: survey exports (KoboToolbox, ODK Central), crime records, social-index tables and
territory catalogues into the workspace store, with validation, quarantine and pseudonymisation.

Main entry point: :func:`ingest_files` (CLI ``territoria ingest FILE...``).
"""

from territoria.ingest.core import IngestReport, detect_kind, ingest_files, total_line

__all__ = ["IngestReport", "detect_kind", "ingest_files", "total_line"]
