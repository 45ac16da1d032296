"""What every format reader shares: its result and its one kind of error."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.schema import LineBox


class CorpusError(Exception):
    """A file or folder that cannot be read; the message is one line naming it."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the path holds


@dataclass(frozen=True)
class Extracted:
    """A reader's result: the text offsets will point into, and what the file says about itself."""

    text: str
    encoding: str = ""  # the text encoding of .txt/.md/.html files; "" for .docx and .pdf
    pages: int | None = None  # PDF only
    meta_title: str = ""  # docx core title, PDF Title, HTML <title>
    page_starts: tuple[int, ...] = ()  # PDF and page images: where each page's text starts
    lines: tuple[LineBox, ...] = ()  # PDF and page images: each line's offsets and box on its page
