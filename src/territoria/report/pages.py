"""The page builders other packages join to the published site, and what they share with it.

:class:`territoria.report.site.SiteBuilder` builds the kit's own pages (territories, city,
methodology, coverage, annex), then calls each builder listed in :data:`JOINED` with
``(builder, out)``: the :class:`~territoria.report.site.SiteBuilder` (store, configuration,
Jinja environment, ``write`` and the page context) and the site folder being built. A package
joins the site by adding its builder to :data:`JOINED` as ``"module:function"`` (papermill's
engine registry and its entry points are the model), so :mod:`territoria.report` imports none
of them and they import only this module of it: the evaluation reports
(:func:`territoria.evaluation.site.build`) join this way.

Examples
--------
>>> safe_name("07-001"), safe_name("a/b")
('07-001', 'a_b-c14cddc0')
>>> [b.__module__ for b in joined_builders()]
['territoria.evaluation.site']
"""

from __future__ import annotations

import hashlib
import importlib
import re
from pathlib import Path
from typing import Any, Protocol

__all__ = ["JOINED", "PageBuilder", "joined_builders", "safe_name"]

#: Builders of pages joined to the site, ``"module:function"``, built in this order after the
#: kit's own pages. A module that cannot be imported is left out (its package is optional).
JOINED: tuple[str, ...] = ("territoria.evaluation.site:build",)


class PageBuilder(Protocol):
    """Writes a package's pages into the site folder ``out`` being built by ``builder``."""

    def __call__(self, builder: Any, out: Path) -> None: ...


def joined_builders(joined: tuple[str, ...] = JOINED) -> list[PageBuilder]:
    """The builders of :data:`JOINED` whose module can be imported, in order.

    Raises
    ------
    AttributeError
        When a module is there but has no such function (a wrong entry of :data:`JOINED`).
    """
    out = []
    for entry in joined:
        module, _, function = entry.partition(":")
        try:
            mod = importlib.import_module(module)
        except ImportError:  # an optional package that is not installed
            continue
        out.append(getattr(mod, function))
    return out


def safe_name(text: str) -> str:
    """A file-name-safe version of an id (a short hash is added when characters changed).

    Letters, digits, ``_`` and ``-`` are kept, anything else becomes ``_``; at most 80
    characters, then ``-`` and the first 8 hex digits of the id's SHA-256 when the id
    changed, so two different ids never share a page.
    """
    s = re.sub(r"[^A-Za-z0-9_-]", "_", str(text))[:80] or "_"
    if s != str(text):
        s += "-" + hashlib.sha256(str(text).encode()).hexdigest()[:8]
    return s
