"""Move the modules' text catalogues from Python literals into ``src/territoria/messages/*.yml``.

A *catalogue* is a module-level dict literal ``NAME = {"key": {"es": "...", "en": "..."}, ...}``
(``MESSAGES``, ``INPUT_MESSAGES``, ``STATUS_LABELS``...). For every one in ``src/territoria``
this script writes its entries to ``messages/<module>.yml`` (section ``NAME``, same keys, texts
and order, comments kept) and replaces the literal with ``NAME = catalogue(__name__[, "NAME"])``
(:func:`territoria.i18n.catalogue`). An entry ``vocabulary.texts("kind", "code")`` is written
``{vocabulary: kind/code}`` (the call passes ``vocabulary=vocabulary.texts``); any other entry
that is not a literal (a step's title from the registry) stays in Python: the file holds
``key: null`` with a comment, and the call passes it by keyword, so the order is kept.

Run it again after a merge brings new or changed literals: it moves only what is still a
literal, replaces that catalogue's section of an existing file and leaves the rest. Modules
listed in :data:`KEEP` are left alone. Every file written is read back and compared with the
literal before the Python is rewritten.

Usage: ``python tools/catalogues.py [--check]`` from the repository root (``--check`` lists
what it would move and writes nothing; exit 1 when there is something to move). Then run
``ruff check --select I --fix`` on the modules it names (import order).
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import sys
import tokenize
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "territoria"
OUT = PKG / "messages"
LANG = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$")
#: Modules whose dicts of texts stay in Python, and why.
KEEP = {
    "vocabulary.py": "the labels of shared codes and column names are the vocabulary's own",
    "i18n.py": "the loader itself",
}
WIDTH = 99


def _lang_texts(node: ast.expr) -> dict[str, str] | None:
    """``node`` as ``{lang: text}`` when it is such a literal, else None (a text may be a list
    of texts: a table's headers)."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if (isinstance(value, dict) and value
            and all(isinstance(k, str) and LANG.match(k) and (
                isinstance(v, str) or isinstance(v, list) and all(isinstance(t, str) for t in v))
                for k, v in value.items())):
        return value
    return None


def _vocabulary_ref(node: ast.expr) -> str | None:
    """``"kind/code"`` when ``node`` is ``vocabulary.texts("kind", "code")``, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "vocabulary"
            and node.func.attr == "texts" and len(node.args) == 2 and not node.keywords
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)):
        kind, code = (a.value for a in node.args)  # type: ignore[attr-defined]
        return f"{kind}/{code}" if "/" not in kind else None
    return None


def find(tree: ast.Module) -> tuple[list[tuple[ast.stmt, str, ast.Dict]], list[str]]:
    """Module-level catalogues of ``tree`` -> (statement, name, dict) and the ones skipped."""
    found, skipped = [], []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            continue
        if not isinstance(target, ast.Name) or not isinstance(value, ast.Dict) or not value.keys:
            continue
        texts = [_lang_texts(v) for v in value.values]
        if sum(t is not None for t in texts) < 2:
            continue
        if not all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                   for k in value.keys):
            skipped.append(f"{target.id} (line {stmt.lineno}): a key is not a string literal (or a ** spread)")
            continue
        literal_other = [v for v, t in zip(value.values, texts, strict=True) if t is None
                         and not isinstance(v, (ast.Call, ast.Attribute, ast.Name,
                                                ast.Subscript, ast.Dict, ast.BinOp))]
        if literal_other:  # a literal that is not {lang: text}: not a catalogue
            continue
        found.append((stmt, target.id, value))
    return found, skipped


def _comments(src: str) -> list[tuple[int, str]]:
    return [(tok.start[0], tok.string) for tok in
            tokenize.generate_tokens(io.StringIO(src).readline) if tok.type == tokenize.COMMENT]


def _one_line(code: str) -> str:
    return re.sub(r"\s*\n\s*", " ", code).strip()


def section(name: str, node: ast.Dict, src: str, comments: list[tuple[int, str]]) -> str:
    """The YAML text of one catalogue (``NAME:`` and its indented entries)."""
    lines = [f"{name}:"]
    pending = [c for c in comments if node.lineno <= c[0] <= (node.end_lineno or 0)]
    for k, v in zip(node.keys, node.values, strict=True):
        assert isinstance(k, ast.Constant)
        while pending and pending[0][0] <= (v.end_lineno or 0):
            lines.append("  " + pending.pop(0)[1])
        texts = _lang_texts(v)
        ref = _vocabulary_ref(v)
        if ref is not None:
            dumped = yaml.safe_dump({k.value: {"vocabulary": ref}}, allow_unicode=True,
                                    default_flow_style=False)
            lines.extend("  " + line for line in dumped.rstrip("\n").split("\n"))
            continue
        if texts is None:
            head = yaml.safe_dump({k.value: None}, allow_unicode=True).rstrip("\n")
            code = _one_line(ast.get_source_segment(src, v) or "")
            lines.append(f"  {head}  # given by the module: {code}")
            continue
        dumped = yaml.safe_dump({k.value: texts}, allow_unicode=True, sort_keys=False,
                                width=WIDTH - 24, default_flow_style=False)  # a word may run over
        lines.extend("  " + line for line in dumped.rstrip("\n").split("\n"))
    return "\n".join(lines) + "\n"


def _sections(text: str) -> dict[str, str]:
    """An existing file's sections by catalogue name (its header comment is dropped)."""
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines(keepends=True):
        m = re.match(r"^([A-Za-z_]\w*):\s*$", line)
        if m:
            current = m.group(1)
            out[current] = line
        elif current is not None:
            out[current] += line
    return out


def _header(module: str, sections: dict[str, str]) -> str:
    head = (f"# Texts of {module} ({', '.join(sections)}), read by territoria.i18n.catalogue.\n"
            "# Every key has es and en; a language may be added (pt: ...). Keep the {placeholders}.\n")
    if any("\n    vocabulary: " in s for s in sections.values()):
        head += "# An entry written vocabulary: kind/code is that label of territoria.vocabulary.\n"
    if any(": null  # given by the module" in s for s in sections.values()):
        head += "# An entry written null is given by the module (see its comment).\n"
    return head


def _call(stmt: ast.stmt, name: str, node: ast.Dict, src: str, func: str) -> str:
    ann = ""
    if isinstance(stmt, ast.AnnAssign):
        ann = ": " + (ast.get_source_segment(src, stmt.annotation) or "")
    args = ["__name__"] + ([] if name == "MESSAGES" else [f'"{name}"'])
    if any(_vocabulary_ref(v) for v in node.values):
        args.append("vocabulary=vocabulary.texts")
    for k, v in zip(node.keys, node.values, strict=True):
        assert isinstance(k, ast.Constant)
        if _lang_texts(v) is None and _vocabulary_ref(v) is None:
            code = ast.get_source_segment(src, v) or ""
            ok = k.value.isidentifier() and not keyword.iskeyword(k.value)
            args.append(f"{k.value}={code}" if ok else f"**{{{k.value!r}: {code}}}")
    one = f"{name}{ann} = {func}({', '.join(args)})"
    if len(one) <= WIDTH and "\n" not in one:
        return one
    body = "".join(f"    {a},\n" for a in args)
    return f"{name}{ann} = {func}(\n{body})"


def _has_i18n(tree: ast.Module) -> bool:
    """Whether the module imports ``from territoria import i18n`` (then it calls i18n.catalogue)."""
    return any(isinstance(s, ast.ImportFrom) and s.module == "territoria" and s.level == 0
               and any(a.name == "i18n" and a.asname is None for a in s.names)
               for s in tree.body)


def _import(tree: ast.Module, src_lines: list[str]) -> list[str]:
    """The module's lines with ``catalogue`` imported from territoria.i18n."""
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "territoria.i18n":
            if any(a.name == "catalogue" for a in stmt.names):
                return src_lines
            names = sorted([a.name if a.asname is None else f"{a.name} as {a.asname}"
                            for a in stmt.names] + ["catalogue"])
            new = f"from territoria.i18n import {', '.join(names)}\n"
            first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno)
            return src_lines[:first] + [new] + src_lines[last:]
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    at = (imports[-1].end_lineno or 0) if imports else 0
    return src_lines[:at] + ["from territoria.i18n import catalogue\n"] + src_lines[at:]


def load(path: Path) -> dict[str, dict[str, dict[str, str] | None]]:
    return yaml.load(path.read_text(encoding="utf-8"),
                     Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def convert(py: Path, write: bool) -> tuple[list[str], list[str]]:
    """Move the catalogues of one module; returns the names moved and those skipped."""
    src = py.read_text(encoding="utf-8")
    tree = ast.parse(src)
    found, skipped = find(tree)
    if not found:
        return [], skipped
    rel = py.relative_to(PKG).with_suffix("")
    dotted = ".".join(rel.parts)
    yml = OUT / f"{dotted}.yml"
    comments = _comments(src)
    sections = _sections(yml.read_text(encoding="utf-8")) if yml.exists() else {}
    for _, name, node in found:
        sections[name] = section(name, node, src, comments)
    text = _header(f"territoria.{dotted}", sections) + "\n" + "\n".join(
        s.rstrip("\n") + "\n" for s in sections.values())
    names = [name for _, name, _ in found]
    if not write:
        return names, skipped
    OUT.mkdir(exist_ok=True)
    yml.write_text(text, encoding="utf-8")
    data = load(yml)
    for _, name, node in found:  # read back: same keys, texts and order as the literal
        want = {k.value: ({"vocabulary": _vocabulary_ref(v)} if _vocabulary_ref(v)
                          else _lang_texts(v))
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant)}
        got = data[name]
        if list(got) != list(want) or got != want:
            raise SystemExit(f"{yml}: {name} does not read back as the literal of {py}")
    lines = src.splitlines(keepends=True)
    func = "i18n.catalogue" if _has_i18n(tree) else "catalogue"
    # replace from the last statement up, so earlier line numbers stay true
    for stmt, name, node in sorted(found, key=lambda f: f[0].lineno, reverse=True):
        first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
        rest = lines[last].encode()[stmt.end_col_offset or 0:].decode()  # offsets are bytes
        lines[first:last + 1] = [_call(stmt, name, node, src, func) + rest]
    if func == "catalogue":
        lines = _import(ast.parse("".join(lines)), lines)
    py.write_text("".join(lines), encoding="utf-8")
    return names, skipped


def main(argv: list[str]) -> int:
    write = "--check" not in argv
    moved_any = False
    for py in sorted(PKG.rglob("*.py")):
        rel = py.relative_to(PKG).as_posix()
        if rel in KEEP:
            continue
        names, skipped = convert(py, write)
        for s in skipped:
            print(f"skipped {rel}: {s}")
        if names:
            moved_any = True
            print(f"{'moved' if write else 'would move'} {rel}: {', '.join(names)}")
    for rel, why in KEEP.items():
        print(f"kept {rel}: {why}")
    return 1 if (moved_any and not write) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
