"""Codebooks of an instrument, in Markdown and HTML, with Spanish and English side by side.

One row per data field: table (main or repeat), section (groups), name, type, question in both
languages, choices (``name``: Spanish / English), relevance, constraint, required, personal or
free-text mark. Headings follow ``lang`` (Spanish by default). Every text taken from the form is
escaped (HTML: ``html.escape`` with quotes; Markdown: pipes, backticks, angle brackets and line
breaks), so a label such as ``<script>`` is shown, never run.

Examples
--------
>>> from territoria.instruments.xlsform import load_instrument, default_surveys_dir
>>> inst = load_instrument(default_surveys_dir() / "followup.xlsx")
>>> md = codebook_markdown(inst)
>>> md.splitlines()[0]
'# Libro de códigos: Seguimiento de acuerdos / Follow-up of agreements'
>>> [line for line in md.splitlines() if "`progress`" in line][0].split(" | ")[6:8]
['', '`. >= 0 and . <= 100`']
>>> "<table" in codebook_html(inst, lang="en")
True
"""

from __future__ import annotations

import html
from pathlib import Path

from territoria.exceptions import InstrumentError
from territoria.i18n import catalogue, tr
from territoria.instruments.xlsform import Field, Instrument

__all__ = ["codebook_markdown", "codebook_html", "write_codebook", "MESSAGES"]

MESSAGES = catalogue(__name__)

_COLUMNS = ("section", "name", "type", "question_es", "question_en", "choices", "relevant",
            "constraint", "required", "privacy")


def _type_text(f: Field) -> str:
    return f"{f.type} {f.list_name}" if f.list_name else f.type


def _choices(inst: Instrument, f: Field, lang: str) -> list[str] | list[tuple[str, str, str]]:
    if f.type in ("select_one_from_file", "select_multiple_from_file"):
        return [tr(MESSAGES, "from_file", lang, file=f.list_name)]
    out: list[tuple[str, str, str]] = []
    for c in inst.choices.get(f.list_name or "", ()) if f.is_select else ():
        es = c.labels.get("es") or c.label("es", inst.default_language)
        en = c.labels.get("en") or c.label("en", inst.default_language)
        out.append((c.name, es, en))
    return out


def _privacy(f: Field, lang: str) -> str:
    marks = []
    if f.personal:
        marks.append(tr(MESSAGES, "personal", lang))
    if f.free_text:
        marks.append(tr(MESSAGES, "free_text", lang))
    return ", ".join(marks)


def _section(inst: Instrument, f: Field, lang: str) -> str:
    labels = inst.settings.get("_group_labels", {})
    return " / ".join(labels.get(g, {}).get(lang) or g for g in f.group)


def _label(f: Field, code: str, inst: Instrument) -> str:
    return f.labels.get(code) or ""


def _tables(inst: Instrument):
    yield None, inst.fields_of(None)
    for r in inst.repeats():
        yield r, inst.fields_of(r)


def _md(text) -> str:
    s = "" if text is None else str(text)
    s = html.escape(s, quote=False)
    return s.replace("|", "\\|").replace("`", "\\`").replace("\r", " ").replace("\n", "<br>")


def _md_code(text) -> str:
    s = "" if text is None else str(text)
    s = s.replace("\n", " ").replace("|", "\\|")
    if "`" in s:
        return _md(s)
    return f"`{s}`" if s else ""


def codebook_markdown(inst: Instrument, lang: str = "es") -> str:
    """The codebook of ``inst`` as Markdown (headings in ``lang``, content in both languages)."""
    t = lambda key, **kw: tr(MESSAGES, key, lang, **kw)  # noqa: E731
    title_es = inst.title.get("es") or next(iter(inst.title.values()), inst.form_id)
    title_en = inst.title.get("en")
    title = _md(title_es) + (f" / {_md(title_en)}" if title_en and title_en != title_es else "")
    lines = [f"# {t('codebook')}: {title}", "",
             f"- {t('form_id')}: {_md_code(inst.form_id)}",
             f"- {t('version')}: {_md_code(inst.version)}",
             f"- {t('n_fields')}: {len(inst.fields)}", "",
             f"> {t('privacy_note')}", ""]
    for rep, fields in _tables(inst):
        heading = t("main_table") if rep is None else t("repeat_table", name=rep)
        lines += [f"## {_md(heading)} ({t('table')} {_md_code(inst.table_name(rep))})", ""]
        lines.append("| " + " | ".join(t(c) for c in _COLUMNS) + " |")
        lines.append("|" + "---|" * len(_COLUMNS))
        for f in fields:
            ch = _choices(inst, f, lang)
            if ch and isinstance(ch[0], tuple):
                ch_text = "<br>".join(f"{_md_code(n)} = {_md(es)} / {_md(en)}" for n, es, en in ch)
            else:
                ch_text = "<br>".join(_md(c) for c in ch)
            if f.choice_filter:
                ch_text += f"<br>({t('filter')}: {_md_code(f.choice_filter)})"
            cells = [
                _md(_section(inst, f, lang)), _md_code(f.name), _md_code(_type_text(f)),
                _md(_label(f, "es", inst)), _md(_label(f, "en", inst)), ch_text,
                _md_code(f.relevant), _md_code(f.constraint),
                t("yes") if f.required else t("no"), _md(_privacy(f, lang)),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _h(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1f2328}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin-bottom:2rem}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f6f8fa;position:sticky;top:0} code{font-size:.85em;background:#f6f8fa}
td.personal{color:#8a1c1c;font-weight:600} ul{margin:0;padding-left:1.1rem}
"""


def codebook_html(inst: Instrument, lang: str = "es") -> str:
    """The codebook of ``inst`` as a self-contained HTML page (every form text escaped)."""
    t = lambda key, **kw: tr(MESSAGES, key, lang, **kw)  # noqa: E731
    title_es = inst.title.get("es") or next(iter(inst.title.values()), inst.form_id)
    title_en = inst.title.get("en")
    title = _h(title_es) + (f" / {_h(title_en)}" if title_en and title_en != title_es else "")
    out = [
        "<!DOCTYPE html>", f'<html lang="{_h(lang)}">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_h(t('codebook'))}: {title}</title>", f"<style>{_CSS}</style>", "</head>",
        "<body>", f"<h1>{_h(t('codebook'))}: {title}</h1>", "<ul>",
        f"<li>{_h(t('form_id'))}: <code>{_h(inst.form_id)}</code></li>",
        f"<li>{_h(t('version'))}: <code>{_h(inst.version)}</code></li>",
        f"<li>{_h(t('n_fields'))}: {len(inst.fields)}</li>", "</ul>",
        f"<p><em>{_h(t('privacy_note'))}</em></p>",
    ]
    for rep, fields in _tables(inst):
        heading = t("main_table") if rep is None else t("repeat_table", name=rep)
        out.append(f"<h2>{_h(heading)} ({_h(t('table'))} <code>{_h(inst.table_name(rep))}</code>)</h2>")
        out.append("<table>")
        out.append("<thead><tr>" + "".join(f'<th scope="col">{_h(t(c))}</th>' for c in _COLUMNS)
                   + "</tr></thead>")
        out.append("<tbody>")
        for f in fields:
            ch = _choices(inst, f, lang)
            if ch and isinstance(ch[0], tuple):
                ch_html = "<ul>" + "".join(
                    f"<li><code>{_h(n)}</code> = {_h(es)} / {_h(en)}</li>" for n, es, en in ch) + "</ul>"
            else:
                ch_html = "".join(_h(c) for c in ch)
            if f.choice_filter:
                ch_html += f"<div>{_h(t('filter'))}: <code>{_h(f.choice_filter)}</code></div>"
            priv = _privacy(f, lang)
            cells = [
                f"<td>{_h(_section(inst, f, lang))}</td>",
                f'<td id="{_h("f-" + f.name)}"><code>{_h(f.name)}</code></td>',
                f"<td><code>{_h(_type_text(f))}</code></td>",
                f'<td lang="es">{_h(_label(f, "es", inst))}</td>',
                f'<td lang="en">{_h(_label(f, "en", inst))}</td>',
                f"<td>{ch_html}</td>",
                f"<td><code>{_h(f.relevant or '')}</code></td>",
                f"<td><code>{_h(f.constraint or '')}</code></td>",
                f"<td>{_h(t('yes') if f.required else t('no'))}</td>",
                f'<td class="{"personal" if priv else ""}">{_h(priv)}</td>',
            ]
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def write_codebook(inst: Instrument, path, fmt: str = "md", lang: str = "es") -> Path:
    """Write the codebook to ``path`` as ``md`` or ``html``; returns the path.

    Raises
    ------
    InstrumentError
        If ``fmt`` is neither ``md`` nor ``html``.
    """
    if fmt not in ("md", "html"):
        raise InstrumentError(f"codebook format must be 'md' or 'html', got {fmt!r}")
    text = codebook_markdown(inst, lang) if fmt == "md" else codebook_html(inst, lang)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
