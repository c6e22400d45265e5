"""Byte-level checks of an input file before it is parsed.

Detects an empty file, binary garbage and NUL bytes anywhere, the text encoding (UTF-8,
UTF-8 with BOM, UTF-16/32 with or without BOM, or CP1252/Latin-1), the field separator,
unbalanced quotes (a truncated CSV), over-long fields, compressed members too big or too
compressed to be honest (checked before they are decompressed), and inputs that are symbolic
links or resolve outside the folder they were given in; it loads a delimited text file into a
DuckDB table of VARCHAR columns with one row per data record.

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
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from territoria.exceptions import IngestError

#: Separators tried, in order of preference when counts tie.
SEPARATORS = (";", ",", "\t", "|")
_CHUNK = 1 << 22
#: Largest decompressed size accepted for one archive member or .gz file (bytes).
MAX_DECOMPRESSED = 1 << 30
#: Largest decompressed/compressed ratio accepted (zip bombs reach thousands).
MAX_RATIO = 250
#: Longest record accepted (DuckDB's CSV reader limit), bytes.
MAX_LINE = 2_000_000
_UTF_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
             (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def check_input_path(path: str | os.PathLike, *, name: str | None = None) -> Path:
    """Refuse an input that is a symbolic link, or whose real location is outside the folder
    it was given in (``data/raw/../../etc/passwd``, a file in a folder that is a link).
    Returns the path.

    >>> import tempfile, pathlib, os
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("x,y\\n")
    >>> os.symlink("/etc/hostname", d / "b.csv")
    >>> check_input_path(d / "a.csv").name
    'a.csv'
    >>> try:
    ...     check_input_path(d / "b.csv")
    ... except IngestError as e:
    ...     print(e.rule)
    symlink
    """
    path = Path(path)
    name = name or path.name
    if path.is_symlink():
        raise IngestError("the input is a symbolic link; give the file itself", file=name,
                          rule="symlink")
    if ".." in path.parts or path.parent.is_symlink():
        raise IngestError("the input resolves outside the folder it was given in "
                          f"({path.resolve().parent}); give the file itself", file=name,
                          rule="outside_folder")
    return path


def check_member(name: str, size: int, compressed: int, *, file: str) -> None:
    """Refuse an archive member before decompressing it: too big, or compressed too well.

    >>> check_member("a.csv", 1000, 100, file="x.zip")
    >>> try:
    ...     check_member("a.csv", 10**9, 10**5, file="x.zip")
    ... except IngestError as e:
    ...     print(e.rule)
    archive_ratio
    """
    if size > MAX_DECOMPRESSED:
        raise IngestError(f"member {name} would be {size:,} bytes once decompressed (limit "
                          f"{MAX_DECOMPRESSED:,})", file=file, rule="archive_too_large")
    if size > (1 << 20) and size > MAX_RATIO * max(compressed, 1):
        raise IngestError(f"member {name} is compressed {size // max(compressed, 1):,} times "
                          f"(limit {MAX_RATIO}): a zip bomb or a damaged archive", file=file,
                          rule="archive_ratio")


def check_zip(z, *, file: str) -> None:
    """:func:`check_member` on every member of an open :class:`zipfile.ZipFile`."""
    total = 0
    for info in z.infolist():
        check_member(info.filename, info.file_size, info.compress_size, file=file)
        total += info.file_size
    if total > MAX_DECOMPRESSED:
        raise IngestError(f"the archive would be {total:,} bytes once decompressed (limit "
                          f"{MAX_DECOMPRESSED:,})", file=file, rule="archive_too_large")


def copy_member(z, member: str, dest: Path, *, file: str) -> None:
    """Decompress one member to ``dest`` in chunks, stopping at the declared size (a member
    that lies about its size is refused, never read whole into memory)."""
    info = z.getinfo(member)
    check_member(member, info.file_size, info.compress_size, file=file)
    n = 0
    try:
        with z.open(info) as src, open(dest, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                n += len(chunk)
                if n > max(info.file_size, 0) or n > MAX_DECOMPRESSED:
                    raise IngestError(f"member {member} is larger than it declares",
                                      file=file, rule="archive_too_large")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            ValueError) as e:  # damaged, truncated, encrypted or an unknown compression
        raise IngestError(f"member {member} cannot be decompressed ({e})", file=file,
                          rule="damaged_archive") from None


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


def compression_of(path: str | os.PathLike) -> str | None:
    """How :func:`sniff_text` reads a file's bytes: gzip for ``.gz``, else as they are.

    Readers pass it to ``pandas.read_csv`` so that pandas does not guess from the name (a
    ``.zip`` that is text would fail deep in pandas instead of being read as :func:`sniff_text`
    checked it).

    >>> compression_of("crime.csv.gz"), compression_of("blocks.zip")
    ('gzip', None)
    """
    return "gzip" if Path(path).suffix.lower() == ".gz" else None


def _open_bytes(path: Path):
    if compression_of(path) == "gzip":
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


def wide_encoding(head: bytes) -> str | None:
    """UTF-16/32 told by a byte-order mark or by the pattern of NUL bytes of ASCII text.

    >>> wide_encoding("a;b\\n".encode("utf-16"))
    'utf-16'
    >>> wide_encoding("a;b\\n".encode("utf-16-le")), wide_encoding(b"a;b")
    ('utf-16-le', None)
    """
    for bom, enc in _UTF_BOMS:
        if head.startswith(bom):
            return enc
    sample = head[:4096]
    if len(sample) < 4:
        return None
    n = len(sample) // 4 * 4
    sample = sample[:n]
    if sample[1::4] == sample[2::4] == sample[3::4] == bytes(n // 4) and 0 not in sample[0::4]:
        return "utf-32-le"
    if sample[0::4] == sample[1::4] == sample[2::4] == bytes(n // 4) and 0 not in sample[3::4]:
        return "utf-32-be"
    if sample[1::2] == bytes(n // 2) and 0 not in sample[0::2]:
        return "utf-16-le"
    if sample[0::2] == bytes(n // 2) and 0 not in sample[1::2]:
        return "utf-16-be"
    return None


def _detect_encoding(path: Path, name: str, wide: str | None = None) -> str:
    """Stream-decode the file as UTF-8, else CP1252 (or the UTF-16/32 found); reject if
    nothing works, if a NUL byte appears anywhere, or if a .gz grows beyond the limits."""
    with _open_bytes(path) as fh:
        first = fh.read(3)
    bom = first == codecs.BOM_UTF8
    packed = path.stat().st_size
    for enc in ((wide,) if wide else ("utf-8", "cp1252")):
        dec = codecs.getincrementaldecoder(enc)()
        offset = 0
        try:
            with _open_bytes(path) as fh:
                for chunk in iter(lambda: fh.read(_CHUNK), b""):
                    text = dec.decode(chunk)
                    nul = text.find("\x00")
                    if nul >= 0:
                        raise IngestError(f"NUL byte in the text near offset {offset + nul} "
                                          "(damaged or binary file)", file=name,
                                          rule="nul_byte")
                    offset += len(chunk)
                    if offset > MAX_DECOMPRESSED or (offset > (1 << 20) and
                                                     offset > MAX_RATIO * packed):
                        check_member(path.name, offset, packed, file=name)
                dec.decode(b"", final=True)
        except (OSError, EOFError, zlib.error) as e:
            raise IngestError(f"cannot read the file ({e})", file=name,
                              rule="unreadable") from None
        except UnicodeDecodeError as e:
            if enc == "utf-8":
                continue
            what = enc.upper() if wide else "UTF-8 or CP1252/Latin-1"
            raise IngestError(
                f"cannot decode byte 0x{e.object[e.start]:02x} at offset {offset + e.start} "
                f"as {what}; save the file as UTF-8",
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
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as e:
            raise IngestError(f"cannot read the file ({e})", file=name, rule="unreadable") from None
    wide = wide_encoding(head)
    if wide:
        head_text = head.decode(wide, errors="ignore")
        if not head_text.strip(" \r\n\t\ufeff"):
            raise IngestError("the file is empty", file=name, rule="empty_file")
    elif not head.strip(b" \r\n\t\xef\xbb\xbf"):
        raise IngestError("the file is empty", file=name, rule="empty_file")
    elif looks_binary(head):
        raise IngestError("the file is binary, not delimited text (CSV)", file=name,
                          rule="binary_file")
    encoding = _detect_encoding(path, name, wide)
    head_text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
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
    if encoding == "cp1252" or wide:
        info.notes.append(f"encoding {encoding.upper()}")
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
    if info.encoding not in ("utf-8", "utf-8-sig") or info.compressed:
        fd, tmp = tempfile.mkstemp(suffix=".csv", dir=tmpdir)
        with os.fdopen(fd, "wb") as out, _open_bytes(info.path) as fh:
            dec = codecs.getincrementaldecoder(info.encoding)()
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                out.write(dec.decode(chunk).lstrip("\ufeff").encode("utf-8"))
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
        if "Maximum line size" in msg:
            detail = (f"a record is longer than {MAX_LINE:,} bytes (a field too large: "
                      "damaged file or pasted content?)")
            raise IngestError(f"cannot parse the file: {detail}", file=name, row=row,
                              rule="field_too_large") from None
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
