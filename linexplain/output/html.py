"""HTML: the whole lesson as one self-contained page, or as a fragment for Jupyter.

Sections and tables are HTML, equations MathML (:mod:`linexplain.output.mathml`, which browsers
lay out themselves), the figure inline SVG (:mod:`linexplain.output.svg`). The page works from
file:// with no network: no script, no external URL, system fonts, and a Content Security
Policy that would stop anything that slipped in. Every name from the user is escaped. CSS alone
makes it readable on a phone (wide maths, tables and figures scroll in their own box) and in
print (black on white, no box broken across pages).
"""

from __future__ import annotations

import itertools
import os

from ..document import Code, Doc, Figure, Lines, Math, Notes, Section, Sym, Table, Tensor, Text
from ..readable import visible
from .mathml import esc, inline_mathml, math_mathml

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; "
    "script-src 'none'; connect-src 'none'; object-src 'none'; media-src 'none'; "
    "frame-src 'none'; base-uri 'none'; form-action 'none'"
)

_SANS = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif'
)
_MATH = (
    '"STIX Two Math", "Cambria Math", "Latin Modern Math", "DejaVu Math TeX Gyre", '
    '"Noto Sans Math", math, serif'
)
_MONO = 'ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace'

# Scoped to .linexplain, so a fragment in a notebook styles only itself. Colours are
# inherited or translucent, so it reads on a light or a dark notebook; the page sets them.
_STYLE = f"""
.linexplain {{ font-family: {_SANS}; line-height: 1.5; max-width: 56rem; margin: 0 auto;
  overflow-wrap: break-word; }}
.linexplain * {{ box-sizing: border-box; }}
.linexplain h1 {{ font-size: 1.6rem; line-height: 1.25; margin: 0 0 .4rem; }}
.linexplain h2.part {{ font-size: 1.4rem; line-height: 1.3; margin: 2.4rem 0 .6rem;
  padding-bottom: .2rem; border-bottom: 2px solid rgba(127, 127, 127, .45); }}
.linexplain .section {{ font-size: 1.05rem; line-height: 1.35; margin: 1.6rem 0 .4rem; }}
.linexplain h4.section {{ font-size: .95rem; margin: 1rem 0 .3rem; opacity: .85; }}
.linexplain .summary {{ margin: 0 0 1rem; opacity: .8; }}
.linexplain .scroll {{ overflow-x: auto; overflow-y: hidden; max-width: 100%;
  margin: .5rem 0; }}
.linexplain table {{ border-collapse: collapse; font-variant-numeric: tabular-nums;
  font-size: .92rem; }}
.linexplain th, .linexplain td {{ padding: .15rem .7rem; text-align: left;
  vertical-align: top; }}
.linexplain th, .linexplain .num {{ white-space: nowrap; }}
.linexplain td {{ min-width: 3.5rem; }}
.linexplain thead th {{ border-bottom: 1px solid rgba(127, 127, 127, .6); font-weight: 600; }}
.linexplain tbody th {{ font-weight: normal; opacity: .75; }}
.linexplain tbody tr:nth-child(even) {{ background: rgba(127, 127, 127, .08); }}
.linexplain .num {{ text-align: right; }}
.linexplain math {{ font-family: {_MATH}; }}
.linexplain math[display="block"] {{ margin: .2rem 0; font-size: 1.08em; }}
.linexplain .math {{ padding: .2rem 0; }}
.linexplain .math math[display="block"] {{ display: block math; min-width: max-content; }}
.linexplain mtext.aside, .linexplain .aside {{ opacity: .75; }}
.linexplain .lines, .linexplain .notes {{ margin: .4rem 0; }}
.linexplain .line {{ white-space: pre-wrap; margin: 0; }}
.linexplain .notes p {{ font-style: italic; margin: 0; opacity: .85; }}
.linexplain .hidden {{ margin: .2rem 0 .6rem; font-size: .92rem; opacity: .8; }}
.linexplain pre {{ margin: 0; padding: .7rem .9rem; font-family: {_MONO}; font-size: .88rem;
  line-height: 1.45; background: rgba(127, 127, 127, .1); border-radius: 6px; }}
.linexplain figure {{ margin: 1rem 0; }}
.linexplain figure .scroll {{ margin: 0; }}
.linexplain figure svg {{ display: block; max-width: 100%; height: auto; border-radius: 6px; }}
.linexplain figcaption {{ font-size: .92rem; opacity: .8; margin-top: .3rem; }}
@media (max-width: 40rem) {{
  .linexplain h1 {{ font-size: 1.3rem; }}
  .linexplain h2.part {{ font-size: 1.2rem; }}
  .linexplain th, .linexplain td {{ padding: .15rem .45rem; }}
}}
@media print {{
  .linexplain {{ max-width: none; color: #000; background: #fff; }}
  .linexplain .scroll {{ overflow: visible; }}
  .linexplain table, .linexplain figure, .linexplain pre, .linexplain .math {{
    break-inside: avoid; page-break-inside: avoid; }}
  .linexplain h2, .linexplain h3 {{ break-after: avoid; page-break-after: avoid; }}
  .linexplain h2.part {{ border-color: #000; }}
  .linexplain tbody tr:nth-child(even) {{ background: none; }}
  .linexplain pre {{ background: none; border: 1px solid #999; white-space: pre-wrap; }}
  .linexplain .summary, .linexplain .notes p, .linexplain .hidden, .linexplain figcaption,
  .linexplain tbody th, .linexplain .aside {{ opacity: 1; }}
}}
"""

_PAGE_STYLE = """
:root { color-scheme: light dark; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; padding: 1.2rem 1rem 3rem; color: #1b1f24; background: #fff; }
@media (prefers-color-scheme: dark) {
  body { color: #e6e6e6; background: #16181c; }
}
@media print {
  :root { color-scheme: light; }
  body { color: #000; background: #fff; padding: 0; }
}
"""

_FRAGMENTS = itertools.count(1)


def html(doc: Doc) -> str:
    """``doc`` as one self-contained HTML5 page (no script, nothing fetched)."""
    title = esc(_plain(doc.title)) or "linexplain"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="generator" content="linexplain">\n'
        f"<title>{title}</title>\n"
        f"<style>{_PAGE_STYLE}{_STYLE}</style>\n"
        "</head>\n<body>\n"
        f'<main class="linexplain">\n{_body(doc, "lx")}</main>\n'
        "</body>\n</html>\n"
    )


def html_fragment(doc: Doc) -> str:
    """``doc`` as one ``<div class="linexplain">`` with its own scoped ``<style>`` (for
    Jupyter's ``_repr_html_``); its figures' ids are its own, so many can share a notebook."""
    prefix = f"lx{os.getpid():x}n{next(_FRAGMENTS)}"
    return f'<div class="linexplain">\n<style>{_STYLE}</style>\n{_body(doc, prefix)}</div>\n'


def _body(doc: Doc, prefix: str) -> str:
    """The lesson's headings and blocks."""
    out = [f"<h1>{prose(doc.title)}</h1>"]
    if doc.summary:
        out.append(f'<p class="summary">{prose(doc.summary)}</p>')
    parts = any(section.part for section in doc.sections)
    figures = itertools.count(1)
    for section in doc.sections:
        out.append(_heading(section, parts))
        for block in section.blocks:
            if isinstance(block, Figure):
                out.append(_figure(block, f"{prefix}-figure{next(figures)}"))
            else:
                out.append(block_html(block))
    return "".join(line + "\n" for line in out if line)


def _heading(section: Section, parts: bool) -> str:
    """A part's heading (h2, its ━━ rules dropped) or a section's (h3 under parts, else h2)."""
    title = section.title
    if section.part:
        title = _unruled(title)
        return f'<h2 class="part">{prose(title)}</h2>'
    level = 3 if parts else 2
    first = title[0] if title else ""
    if isinstance(first, str) and first[:1].isspace():  # indented: a heading under the last one
        level += 1
        title = (first.lstrip(), *title[1:])
    return f'<h{level} class="section">{prose(title)}</h{level}>'


def _unruled(t: Text) -> Text:
    """A part's title without the ━━ rules a terminal draws around it."""
    parts = list(t)
    if parts and isinstance(parts[0], str):
        parts[0] = parts[0].lstrip("━ ")
    if parts and isinstance(parts[-1], str):
        parts[-1] = parts[-1].rstrip("━ ")
    return tuple(part for part in parts if part != "")


def prose(t: Text) -> str:
    """Prose as HTML: its text escaped, its maths inline MathML."""
    return "".join(inline_mathml(part) if isinstance(part, Sym) else _esc(part) for part in t)


def _esc(s: str) -> str:
    """A string from the document, escaped for HTML with its controls spelled out (a name from
    a file must not reorder the page's text, nor carry an escape code into it)."""
    return esc(visible(s))


def _plain(t: Text) -> str:
    """Prose as plain unicode text (a page's <title>)."""
    from .text import prose as text_prose

    return " ".join(text_prose(t, "text").split())


def block_html(block: Table | Tensor | Lines | Notes | Code | Math) -> str:
    """One block (not a figure) as HTML."""
    if isinstance(block, Tensor):
        from .text import tensor_table

        block = tensor_table(block)
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Math):
        hidden = f'\n<p class="hidden">{prose(block.hidden)}</p>' if block.hidden else ""
        return f'<div class="math scroll">{math_mathml(block)}</div>{hidden}'
    if isinstance(block, Code):
        from .text import code_text

        language = esc(block.language)
        return (
            f'<div class="scroll"><pre><code class="language-{language}">'
            f"{esc(code_text(block.code))}</code></pre></div>"
        )
    if isinstance(block, Notes):
        lines = "".join(f"<p>{prose(line)}</p>" for line in block.lines)
        return f'<div class="notes">{lines}</div>'
    if isinstance(block, Lines):
        lines = "".join(f'<p class="line">{prose(line) or "&#8203;"}</p>' for line in block.lines)
        return f'<div class="lines">{lines}</div>'
    raise TypeError(f"not a block: {type(block).__name__}")


def _table(table: Table) -> str:
    """A table: its header as <th>, numbers right-aligned, a numeric table's labels as row
    headers."""
    columns = max((len(row) for row in [*table.rows, table.header or ()]), default=0)

    def align(k: int) -> str:
        return ' class="num"' if table.numeric and k else ""

    out = ['<div class="scroll"><table>']
    if table.header:
        head = "".join(
            f'<th scope="col"{align(k)}>{_esc(cell)}</th>' for k, cell in enumerate(table.header)
        )
        out.append(f"<thead><tr>{head}</tr></thead>")
    out.append("<tbody>")
    for row in table.rows:
        cells = []
        for k, cell in enumerate(row):
            if table.numeric and k == 0:
                cells.append(f'<th scope="row">{_esc(cell)}</th>')
            else:
                cells.append(f"<td{align(k)}>{_esc(cell)}</td>")
        cells += ["<td></td>"] * (columns - len(row))
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _figure(figure: Figure, id_prefix: str) -> str:
    """The figure as inline SVG, captioned with its title."""
    from .svg import svg

    drawing = svg(figure, standalone=False, id_prefix=id_prefix)
    caption = f"<figcaption>Figure: {_esc(figure.title)}</figcaption>" if figure.title else ""
    return f'<figure><div class="scroll">{drawing}</div>{caption}</figure>'


__all__ = ["CSP", "block_html", "html", "html_fragment", "prose"]
