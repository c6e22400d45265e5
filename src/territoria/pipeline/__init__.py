"""territoria.pipeline."""
