"""Byte-level checks of an input file before it is parsed.

Detects an empty file, binary garbage, the text encoding (UTF-8, UTF-8 with BOM or
CP1252/Latin-1), the field separator and unbalanced quotes (a truncated CSV), and loads a
delimited text file into a DuckDB table of VARCHAR columns with one row per data record.

Every problem found here rejects the whole file with an :class:`~territoria.exceptions.IngestError`
whose one-line message names the file, the row and the rule.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
>>> _ = p.write_bytes('"zona";"nombre"\\r\\n"DT01";"Aculco"\\r\\n'.encode("utf-8"))
>>> t = sniff_text(p)
>>> (t.encoding, t.sep, t.header)
('utf-8', ';', ['zona', 'nombre'])
>>> _ = p.write_bytes(b"")
>>> try:
...     sniff_text(p)
... except IngestError as e:
...     print(e)
a.csv: the file is empty (rule: empty_file)
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from territoria.exceptions import IngestError

#: Separators tried, in order of preference when counts tie.
SEPARATORS = (";", ",", "\t", "|")
_CHUNK = 1 << 22


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file's bytes (read in chunks).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_of(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _open_bytes(path: Path):
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def looks_binary(head: bytes) -> bool:
    """True when a block of bytes is not text: NUL bytes or many control characters.

    >>> looks_binary(b"a,b\\n1,2\\n")
    False
    >>> looks_binary(bytes(range(256)))
    True
    """
    if not head:
        return False
    if b"\x00" in head:
        return True
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))
    return ctrl / len(head) > 0.01


@dataclass
class TextInfo:
    """What :func:`sniff_text` found about a delimited text file."""

    path: Path
    encoding: str  # 'utf-8', 'utf-8-sig' or 'cp1252'
    sep: str
    header: list[str]
    compressed: bool = False
    notes: list[str] = field(default_factory=list)


def _detect_encoding(path: Path, name: str) -> str:
    """Stream-decode the file as UTF-8, else CP1252; reject if neither works."""
    with _open_bytes(path) as fh:
        first = fh.read(3)
    bom = first == codecs.BOM_UTF8
    for enc in ("utf-8", "cp1252"):
        dec = codecs.getincrementaldecoder(enc)()
        offset = 0
        try:
            with _open_bytes(path) as fh:
                for chunk in iter(lambda: fh.read(_CHUNK), b""):
                    dec.decode(chunk)
                    offset += len(chunk)
                dec.decode(b"", final=True)
        except UnicodeDecodeError as e:
            if enc == "utf-8":
                continue
            raise IngestError(
                f"cannot decode byte 0x{e.object[e.start]:02x} at offset {offset + e.start} "
                "as UTF-8 or CP1252/Latin-1; save the file as UTF-8",
                file=name, rule="encoding",
            ) from None
        if enc == "utf-8":
            return "utf-8-sig" if bom else "utf-8"
        return enc
    raise AssertionError("unreachable")  # pragma: no cover


def _first_record(text: str, sep: str) -> list[str]:
    reader = csv.reader(io.StringIO(text), delimiter=sep, quotechar='"', doublequote=True)
    try:
        return next(reader)
    except (StopIteration, csv.Error):
        return []


def _count_outside_quotes(line: str, ch: str) -> int:
    n, inq = 0, False
    for c in line:
        if c == '"':
            inq = not inq
        elif c == ch and not inq:
            n += 1
    return n


def detect_separator(head_text: str) -> str:
    """The separator of a delimited text: the candidate most frequent in the header line,
    outside quotes.

    >>> detect_separator('"a";"b,c";"d"\\n')
    ';'
    >>> detect_separator("a,b,c\\n")
    ','
    """
    line = head_text.split("\n", 1)[0]
    counts = {s: _count_outside_quotes(line, s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: (counts[s], -SEPARATORS.index(s)))
    return best if counts[best] > 0 else ","


def _unbalanced_quote_row(path: Path, encoding: str) -> int | None:
    """1-based data row where an unterminated quote starts, or None if quotes balance."""
    total = 0
    with _open_bytes(path) as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            total += chunk.count(b'"')
    if total % 2 == 0:
        return None
    # Locate the record that opens the unclosed quote (only on error, so a plain loop is fine).
    inq = False
    record = 0  # header is record 0
    start_record = 0
    with _open_bytes(path) as fh:
        text = io.TextIOWrapper(fh, encoding=encoding, newline="")
        for line in text:
            if not inq:
                start_record = record
            inq ^= line.count('"') % 2 == 1
            if not inq:
                record += 1
    return start_record


def sniff_text(path: str | os.PathLike, *, name: str | None = None) -> TextInfo:
    """Check a delimited text file and describe it.

    Raises
    ------
    IngestError
        For an empty file, binary content, an undecodable encoding, unbalanced quotes
        (truncated file) or a header with a single column (wrong separator).
    """
    path = Path(path)
    name = name or path.name
    with _open_bytes(path) as fh:
        try:
            head = fh.read(1 << 16)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise IngestError(f"cannot read the file ({e})", file=name, rule="unreadable") from None
    if not head.strip(b" \r\n\t\xef\xbb\xbf"):
        raise IngestError("the file is empty", file=name, rule="empty_file")
    if looks_binary(head):
        raise IngestError("the file is binary, not delimited text (CSV)", file=name,
                          rule="binary_file")
    encoding = _detect_encoding(path, name)
    head_text = head.decode(encoding, errors="ignore")
    sep = detect_separator(head_text.replace("\r\n", "\n"))
    header = _first_record(head_text, sep)
    if len(header) <= 1:
        raise IngestError(
            f"only one column found in the header ({(header or [''])[0][:40]!r}); the separator "
            "must be one of ; , tab |", file=name, row=0, rule="wrong_separator")
    bad = _unbalanced_quote_row(path, encoding)
    if bad is not None:
        raise IngestError("a quoted value is never closed (truncated or damaged file?)",
                          file=name, row=bad, rule="unbalanced_quotes")
    info = TextInfo(path=path, encoding=encoding, sep=sep, header=[h.strip() for h in header],
                    compressed=path.suffix.lower() == ".gz")
    if encoding == "cp1252":
        info.notes.append("encoding CP1252")
    return info


_LINE_RE = re.compile(r"Line:\s*(\d+)")


def load_text(con, info: TextInfo, table: str, *, name: str | None = None,
              tmpdir: str | None = None) -> int:
    """Load a sniffed delimited text file into temporary DuckDB table ``table``.

    All columns are VARCHAR (empty fields become NULL), in file order; ``rowid - min(rowid) + 1`` is
    the 1-based data row number. Non-UTF-8 files are transcoded to a temporary UTF-8 copy
    (the input is never modified). Duplicate header names get a ``.1``, ``.2`` suffix.

    Returns
    -------
    int
        Number of data rows loaded.
    """
    name = name or info.path.name
    cols, seen = [], {}
    for h in info.header:
        h = h or "column"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        cols.append(h)
    src = info.path
    tmp = None
    if info.encoding == "cp1252" or info.compressed:
        fd, tmp = tempfile.mkstemp(suffix=".csv", dir=tmpdir)
        with os.fdopen(fd, "wb") as out, _open_bytes(info.path) as fh:
            dec = codecs.getincrementaldecoder(info.encoding)()
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                out.write(dec.decode(chunk).encode("utf-8"))
            out.write(dec.decode(b"", final=True).encode("utf-8"))
        src = Path(tmp)
    colspec = "{" + ", ".join(
        "'" + c.replace("'", "''") + "': 'VARCHAR'" for c in cols) + "}"
    delim = info.sep.replace("'", "''")
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv("
        f"'{str(src).replace(chr(39), chr(39) * 2)}', columns={colspec}, delim='{delim}', "
        "quote='\"', escape='\"', header=true, auto_detect=false, strict_mode=true, "
        "parallel=true)"
    )
    try:
        con.execute(sql).fetchall()
    except Exception as e:  # duckdb.Error: turn into one line with the row
        msg = str(e)
        m = _LINE_RE.search(msg)
        row = int(m.group(1)) - 1 if m else None
        detail = "row has the wrong number of fields" if "Expected Number of Columns" in msg \
            else msg.splitlines()[0][:120]
        raise IngestError(f"cannot parse the file: {detail}", file=name, row=row,
                          rule="malformed_csv") from None
    finally:
        if tmp:
            os.unlink(tmp)
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def row_offset(con, table: str) -> int:
    """Smallest ``rowid`` of a table: rows created inside a transaction do not start at 0,
    so the 1-based data row is ``rowid - row_offset + 1`` (rowids are contiguous in file
    order for a table filled by one statement)."""
    r = con.execute(f"SELECT min(rowid) FROM {table}").fetchall()
    return int(r[0][0] or 0)
