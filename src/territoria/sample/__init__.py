"""territoria.sample."""
