"""Allow ``python -m territoria``."""

from territoria.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
