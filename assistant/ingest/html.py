"""HTML pages → Markdown-like text, by BeautifulSoup (with lxml).

What a reader of the page reads, and nothing else: scripts, styles, navigation, page headers
and footers, forms and hidden elements are dropped. Block elements become lines with blank
lines between; `<h1>`–`<h6>` become `#`…`######` headings, list items start with `- `, table
rows name their columns (`cleanup.table_rows`), a block that opens in bold keeps `**…**`
around that lead-in. White space is collapsed as a browser does, except that a line break
between Chinese characters leaves no space.
"""

from __future__ import annotations

from assistant.ingest.cleanup import collapse_space, table_rows
from assistant.ingest.common import CorpusError, Extracted
from assistant.ingest.text import decode

DROPPED = frozenset({
    "script", "style", "noscript", "template", "nav", "aside", "footer", "form", "button", "select", "input",
    "textarea", "iframe", "object", "embed", "svg", "canvas", "video", "audio", "map", "dialog", "head",
})  # fmt: skip
DROPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "menubar"})
BLOCKS = frozenset({
    "address", "article", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "header", "hr", "li",
    "main", "ol", "p", "pre", "section", "ul", "body", "html", "center",
})  # fmt: skip
BOLD = frozenset({"b", "strong"})


def read(data: bytes, label: str) -> Extracted:
    """The readable text of an HTML page; CorpusError if it cannot be decoded or holds no text."""
    from bs4 import BeautifulSoup
    from bs4.dammit import EncodingDetector

    declared = EncodingDetector.find_declared_encoding(data, is_html=True, search_entire_document=False)
    text, encoding = None, ""
    if declared and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = data.decode(declared), declared.lower()
        except (UnicodeDecodeError, LookupError):
            text = None  # a wrong declaration: detect instead
    if text is None:
        text, encoding = decode(data, label)
    soup = BeautifulSoup(text, "lxml")
    meta_title = collapse_space(soup.title.get_text()) if soup.title else ""
    for tag in soup.find_all(_dropped):
        tag.decompose()
    lines: list[str] = []
    _walk(soup.body or soup, lines, [])
    body = "\n\n".join(line for line in lines if line) + "\n" if any(lines) else ""
    if not body.strip():
        raise CorpusError(f"{label}: no readable text in the page")
    return Extracted(text=body, encoding=encoding, meta_title=meta_title)


def _dropped(tag) -> bool:
    if tag.name in DROPPED:
        return True
    attrs = tag.attrs or {}
    if "hidden" in attrs or attrs.get("aria-hidden") == "true" or attrs.get("role") in DROPPED_ROLES:
        return True
    style = str(attrs.get("style", "")).replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    # a page's header is navigation; an article's header holds its title
    return tag.name == "header" and tag.find_parent(("article", "main")) is None


class _Block:
    """Text of the block being read: pieces and whether each is bold."""

    def __init__(self) -> None:
        self.pieces: list[tuple[str, bool]] = []

    def line(self, prefix: str = "") -> str:
        text = collapse_space("".join(t for t, _ in self.pieces))
        if not text:
            return ""
        lead = ""
        for t, bold in self.pieces:
            if not t.strip():
                lead += t
                continue
            if not bold:
                break
            lead += t
        lead = collapse_space(lead)
        if lead and prefix == "" and text.startswith(lead):
            text = f"**{lead}**{text[len(lead) :]}"
        return prefix + text


def _walk(node, lines: list[str], stack: list[_Block], bold: bool = False, prefix: str = "") -> None:
    from bs4 import NavigableString, Tag
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    if not stack:
        stack.append(_Block())
    for child in node.children:
        if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(child, NavigableString):
            stack[-1].pieces.append((str(child), bold))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name == "br":
            _flush(lines, stack, prefix)
        elif name == "table":
            _flush(lines, stack, prefix)
            lines.extend(table_rows(_cells(child)))
        elif name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            _flush(lines, stack, prefix)
            text = collapse_space(child.get_text())
            if text:
                lines.append(f"{'#' * int(name[1])} {text}")
        elif name == "li":
            _flush(lines, stack, prefix)
            _walk(child, lines, stack, bold, "- ")
            _flush(lines, stack, "- ")
        elif name in BLOCKS:
            _flush(lines, stack, prefix)
            _walk(child, lines, stack, bold, prefix)
            _flush(lines, stack, prefix)
        else:
            _walk(child, lines, stack, bold or name in BOLD, prefix)


def _flush(lines: list[str], stack: list[_Block], prefix: str) -> None:
    line = stack[-1].line(prefix)
    if line:
        lines.append(line)
    stack[-1] = _Block()


def _cells(table) -> list[list[str]]:
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a nested table's rows are read with its cell
        rows.append([cell.get_text(" ") for cell in tr.find_all(("td", "th"), recursive=False)])
    return rows
