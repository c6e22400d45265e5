"""territoria.report."""
