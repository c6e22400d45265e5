"""The one progress display of long commands (``run``, ``publish``, ``ingest``): a bar with
the count, the rate and an ETA on stderr, shown only when stderr is a terminal, so logs, pipes
and CI stay quiet.

Examples
--------
>>> progress_bar(10, enabled=False) is None
True
>>> progress_bar(0, desc="Pages") is None  # nothing to do: no bar
True
"""

from __future__ import annotations

import sys


def progress_bar(total: int, *, enabled: bool = True, desc: str = "", unit: str = "it",
                 bytes_: bool = False):
    """A ``tqdm`` bar (count, rate, ETA) on stderr, or None.

    Parameters
    ----------
    total : int
        Units of work (notebooks, pages, bytes).
    enabled : bool
        False (``--quiet``) gives no bar.
    desc : str
        Label before the bar (in the report language).
    unit : str
        Name of one unit (``nb``, ``page``, ``B``).
    bytes_ : bool
        Show the count as kB, MB... (for ``unit="B"``).

    Returns
    -------
    tqdm.tqdm or None
        None when disabled, when stderr is not a terminal, or when ``total`` is 0. Callers
        update it with ``bar.update(n)`` and close it with ``bar.close()``.
    """
    if not enabled or total <= 0 or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit=unit, desc=desc, dynamic_ncols=True,
                unit_scale=bytes_, unit_divisor=1024 if bytes_ else 1000)



class FilesProgress:
    """Progress over a list of files, weighted by their size (``ingest``): the ETA follows
    the bytes left, so one large file counts for what it weighs.

    Parameters
    ----------
    paths : list of path-like
        The files, in the order they are processed.
    enabled, desc :
        As :func:`progress_bar`.

    Examples
    --------
    >>> p = FilesProgress(["a.csv", "b.csv"], enabled=False)
    >>> p.bar is None, p.sizes
    (True, [0, 0])
    >>> p.done("a.csv ok")  # no bar: the line is printed as usual
    a.csv ok
    """

    def __init__(self, paths, *, enabled: bool = True, desc: str = ""):
        import os

        self.names = [os.path.basename(str(p)) for p in paths]
        self.sizes = []
        for p in paths:
            try:
                self.sizes.append(os.path.getsize(p))
            except OSError:  # reported by the reader, not here
                self.sizes.append(0)
        self.count = 0
        self.bar = progress_bar(sum(self.sizes), enabled=enabled, desc=desc, unit="B",
                                bytes_=True)
        self._show_next()

    def _show_next(self) -> None:
        if self.bar is not None and self.count < len(self.names):
            self.bar.set_postfix_str(self.names[self.count])

    def done(self, line: str | None = None, *, err: bool = False, echo=None) -> None:
        """One more file is done: print its ``line`` above the bar and move the bar on.

        ``echo(line, err=...)`` prints when there is no bar (default: ``print``)."""
        if line is not None:
            if self.bar is not None:
                self.bar.write(line, file=sys.stderr if err else sys.stdout)
            elif echo is not None:
                echo(line, err=err)
            else:
                print(line, file=sys.stderr if err else sys.stdout)
        if self.bar is not None and self.count < len(self.sizes):
            self.bar.update(self.sizes[self.count])
        self.count += 1
        self._show_next()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
