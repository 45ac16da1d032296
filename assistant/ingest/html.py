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
    reader = _Reader()
    reader.walk(soup.body or soup)
    reader.flush("")
    body = "\n\n".join(reader.lines) + "\n" if reader.lines else ""
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


class _Reader:
    """Walks the page, collecting one line per block; `pieces` is the block being read, with boldness."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.pieces: list[tuple[str, bool]] = []

    def walk(self, node, bold: bool = False, prefix: str = "") -> None:
        from bs4 import NavigableString, Tag
        from bs4.element import PreformattedString

        for child in node.children:
            if isinstance(child, PreformattedString):  # comments, doctype, CDATA, processing instructions
                continue
            if isinstance(child, NavigableString):
                self.pieces.append((str(child), bold))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "br":
                self.flush(prefix)
            elif name == "table":
                self.flush(prefix)
                self.lines.extend(table_rows(_cells(child)))
            elif name in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.flush(prefix)
                text = collapse_space(child.get_text())
                if text:
                    self.lines.append(f"{'#' * int(name[1])} {text}")
            elif name == "li":
                self.flush(prefix)
                self.walk(child, bold, "- ")
                self.flush("- ")
            elif name in BLOCKS:
                self.flush(prefix)
                self.walk(child, bold, prefix)
                self.flush(prefix)
            else:
                self.walk(child, bold or name in BOLD, prefix)

    def flush(self, prefix: str) -> None:
        """End the block being read: one line, with `**…**` around a bold lead-in (not in list items)."""
        text = collapse_space("".join(t for t, _ in self.pieces))
        if text:
            lead = ""
            for piece, bold in self.pieces:
                if piece.strip() and not bold:
                    break
                lead += piece
            lead = collapse_space(lead)
            if lead and not prefix and text.startswith(lead):
                text = f"**{lead}**{text[len(lead) :]}"
            self.lines.append(prefix + text)
        self.pieces = []


def _cells(table) -> list[list[str]]:
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a nested table's rows are read with its cell
        rows.append([cell.get_text(" ") for cell in tr.find_all(("td", "th"), recursive=False)])
    return rows
