"""Word .docx files → Markdown-like text, by python-docx.

One line per paragraph, blank lines between: the Title style becomes `# `, Heading n (or an
outline level) `#`×(n+1), a paragraph that opens in bold keeps `**…**` around that lead-in
(`structure` turns short ones into section headings), list items start with `- `, and each
table row is one line naming its columns (`cleanup.table_rows`). Page headers, footers and
tables of contents are not body text and are left out. `.doc` and `.wps` are other formats.
"""

from __future__ import annotations

import io
import re
import zipfile

from assistant.ingest.cleanup import join_pieces, table_rows
from assistant.ingest.common import CorpusError, Extracted

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .wps, and password-protected .docx


def read(data: bytes, label: str) -> Extracted:
    """The text of a .docx file's body; CorpusError if it is encrypted, damaged or not a .docx."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if data.startswith(OLE_MAGIC):
        raise CorpusError(f"{label}: encrypted, or an old .doc/.wps file renamed: not readable as .docx")
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = [block for item in document.iter_inner_content() for block in _blocks(item)]
        meta_title = " ".join((document.core_properties.title or "").split())
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, AttributeError, SyntaxError):
        # lxml's XMLSyntaxError is a SyntaxError; a zip without the Word parts gives a KeyError
        raise CorpusError(f"{label}: damaged or not a Word .docx file") from None
    return Extracted(text=_render(blocks), meta_title=meta_title)


# A block: (kind, depth, text) with kind "title", "heading" (depth ≥ 1), "para", "item" or "row".
Block = tuple[str, int, str]


def _blocks(item) -> list[Block]:
    from docx.table import Table

    if isinstance(item, Table):
        return [("row", 0, line) for line in table_rows(_cells(item))]
    style = (item.style.name if item.style is not None else "") or ""
    if style.lower().startswith("toc"):
        return []  # a table of contents repeats the headings, with page numbers
    text = _text(item)
    if not text.strip():
        return []
    level = _heading_level(item, style)
    if level == 0:
        return [("title", 0, text.strip())]
    if level > 0:
        return [("heading", level, text.strip())]
    lead = _bold_lead(item)
    if lead and lead != text.strip():
        text = f"**{lead}**{text.strip()[len(lead) :]}"
    elif lead:
        text = f"**{lead}**"
    pr = item._p.pPr
    listed = (pr is not None and pr.numPr is not None) or style.lower().startswith("list")
    return [("item" if listed else "para", 0, ("- " if listed else "") + text.strip())]


def _text(paragraph) -> str:
    """The paragraph as one line: a soft line break joins like a broken line, a tab is a space."""
    pieces = paragraph.text.replace("\t", " ").split("\n")
    out = pieces[0]
    for piece in pieces[1:]:
        out = join_pieces(out, piece)
    return out


_HEADING_STYLE = re.compile(r"(?:heading|标题)\s*(\d)", re.IGNORECASE)


def _heading_level(paragraph, style: str) -> int:
    """0 for the Title style, n for Heading n (or outline level n), -1 for body text."""
    if style.lower() in ("title", "标题"):
        return 0
    if m := _HEADING_STYLE.fullmatch(style.strip()):
        return int(m.group(1))
    # Chinese templates often define their own heading styles with an outline level instead
    owner = paragraph._p.pPr
    style_obj = paragraph.style
    while True:
        if owner is not None:
            found = owner.find(_qn("w:outlineLvl"))
            if found is not None:
                level = int(found.get(_qn("w:val"), "9"))
                return level + 1 if level < 9 else -1
        if style_obj is None:
            return -1
        owner = style_obj.element.pPr
        style_obj = style_obj.base_style


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _bold(run, paragraph) -> bool:
    """Bold as Word shows it: the run's own setting, else its character style's, else the paragraph style's."""
    if run.bold is not None:
        return bool(run.bold)
    for style in (run.style, paragraph.style):
        while style is not None:
            font = getattr(style, "font", None)
            if font is not None and font.bold is not None:
                return bool(font.bold)
            style = style.base_style
    return False


def _bold_lead(paragraph) -> str:
    """The text of the bold runs the paragraph opens with ("" if it opens in regular type)."""
    lead = ""
    for item in paragraph.iter_inner_content():
        runs = item.runs if hasattr(item, "runs") else [item]  # a hyperlink holds runs
        for run in runs:
            text = run.text
            if not text.strip():
                lead += text
                continue
            if not _bold(run, paragraph):
                return lead.strip()
            lead += text
    return lead.strip()


def _cells(table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats for each grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(p.text for p in cell.paragraphs))
        rows.append(cells)
    return rows


def _render(blocks: list[Block]) -> str:
    """Blocks as Markdown-like lines. Consecutive Title paragraphs are one title; without a Title
    style, a first paragraph that is the only Heading 1 is the title."""
    merged: list[Block] = []
    for kind, depth, text in blocks:
        if kind == "title" and merged and merged[-1][0] == "title":
            merged[-1] = ("title", 0, join_pieces(merged[-1][2], text))
        else:
            merged.append((kind, depth, text))
    titles = [b for b in merged if b[0] == "title"]
    ones = [b for b in merged if b[0] == "heading" and b[1] == 1]
    if not titles and len(ones) == 1 and merged and merged[0] is ones[0]:
        merged[0] = ("title", 0, merged[0][2])
    lines = []
    for kind, depth, text in merged:
        if kind == "title":
            lines.append(f"# {text}")
        elif kind == "heading":
            lines.append(f"{'#' * min(depth + 1, 6)} {text}")
        else:
            lines.append(text)
    return "\n\n".join(lines) + "\n" if lines else ""
