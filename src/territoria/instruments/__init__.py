"""territoria.instruments."""
