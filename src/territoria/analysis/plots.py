"""Moved: the figures now live in :mod:`territoria.figures`, beside :mod:`territoria.charts`
(``analysis/`` is pure statistics). This alias keeps old imports working."""

from territoria.figures import *  # noqa: F401,F403
from territoria.figures import __all__  # noqa: F401
