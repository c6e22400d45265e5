"""territoria.ingest."""
