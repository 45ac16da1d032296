"""Real documents made here, for the tests and the formats benchmark: no file is downloaded.

- the report as a Word file, written with python-docx from the .txt's structure: Title style,
  Heading 1/2 styles, the third heading level and `**` passages as bold runs;
- the report as HTML, and as a PDF printed from it by headless Chromium with Debian's Noto CJK
  fonts, which reproduces what real government PDFs carry: lines broken inside sentences,
  a header and a footer on every page (the browser's date, title, file address and `n/8`),
  and radical code points in the text layer (⻅ for 见, ⽹ for 网) for readers that trust it;
- a 50-page PDF (one section a page, a running header), and a scanned PDF: an image, no text layer.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.ingest import heading_level, paragraphs, read_document
from assistant.ingest.structure import bold_markers
from assistant.schema import Document

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "corpus" / "洛阳-关于中央、省委相关会议精神及我市贯彻落实意见的汇报-2016-11-21.txt"
CHROMIUM = "/usr/bin/chromium"
CJK_FONTS = Path("/usr/share/fonts/opentype/noto")


@dataclass(frozen=True)
class Block:
    """A paragraph of the source: its kind, heading level (1–3, 0 for none) and runs of (text, bold)."""

    kind: str  # "title", "date", "heading" or "body"
    level: int
    runs: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(t for t, _ in self.runs)


def report_blocks(path: Path = REPORT) -> list[Block]:
    """The report's paragraphs as the structure reader sees them, with its `**` spans as bold runs."""
    doc = read_document(path, path.parent)
    return document_blocks(doc)


def document_blocks(doc: Document) -> list[Block]:
    markers = sorted(bold_markers(doc.text))
    bold_ranges = [(markers[i], markers[i + 3]) for i in range(0, len(markers) - 3, 4)]
    blocks = []
    for para in paragraphs(doc):
        runs: list[tuple[str, bool]] = []
        for ch, off in zip(para.text, para.offsets, strict=True):
            bold = any(a < off < b for a, b in bold_ranges)
            if runs and runs[-1][1] == bold:
                runs[-1] = (runs[-1][0] + ch, bold)
            else:
                runs.append((ch, bold))
        blocks.append(Block(para.kind, heading_level(para.text) if para.kind == "heading" else 0, tuple(runs)))
    return blocks


def source_text(blocks: list[Block]) -> str:
    """What a perfect reader would extract: the paragraphs' text, one a line."""
    return "\n".join(b.text for b in blocks)


# --------------------------------------------------------------------------- Word


def write_docx(blocks: list[Block], path: Path, meta_title: str = "") -> Path:
    """A .docx as a person would write it: Title and Heading 1/2 styles, a bold third level."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = docx.Document()
    if meta_title:
        document.core_properties.title = meta_title
    for block in blocks:
        if block.kind == "title":
            document.add_paragraph(block.text, style="Title")
        elif block.kind == "heading" and block.level in (1, 2):
            document.add_heading(block.text, level=block.level)
        else:
            para = document.add_paragraph()
            if block.kind == "date":
                para.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for text, bold in block.runs:
                para.add_run(text).bold = bold or block.kind == "heading"
    _save(path, document.save)
    return path


def _save(path: Path, save) -> None:
    """Write to a temporary name, then rename: a killed test leaves no half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    save(str(tmp))
    tmp.replace(path)


# --------------------------------------------------------------------------- HTML and PDF

STYLE = """
@page { size: A4; margin: 25mm 22mm; }
body { font-family: 'Noto Serif CJK SC', serif; font-size: 15pt; line-height: 1.6; }
h1 { font-family: 'Noto Sans CJK SC', sans-serif; font-size: 20pt; text-align: center; }
.date { text-align: center; }
h2, h3, h4 { font-family: 'Noto Sans CJK SC', sans-serif; font-size: 15pt; margin: 0.4em 0; }
p { text-indent: 2em; text-align: justify; margin: 0; }
.page { page-break-after: always; }
.running { position: fixed; top: 0; left: 0; right: 0; text-align: right; font-size: 9pt; color: #555; }
"""


def report_html(blocks: list[Block], title: str = "洛阳汇报", running_header: str = "") -> str:
    """The report as a web page (headings `<h2>`–`<h4>`), to print or to read as HTML."""
    body = []
    for block in blocks:
        text = "".join(f"<b>{html.escape(t)}</b>" if bold else html.escape(t) for t, bold in block.runs)
        if block.kind == "title":
            body.append(f"<h1>{text}</h1>")
        elif block.kind == "date":
            body.append(f'<p class="date">{text}</p>')
        elif block.kind == "heading":
            body.append(f"<h{block.level + 1}>{text}</h{block.level + 1}>")
        else:
            body.append(f"<p>{text}</p>")
    return _page(title, "\n".join(body), running_header)


def _page(title: str, body: str, running_header: str = "") -> str:
    running = f'<div class="running">{html.escape(running_header)}</div>' if running_header else ""
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{running}\n{body}\n</body></html>\n"
    )


def long_html(blocks: list[Block], pages: int = 50) -> str:
    """`pages` pages, one section each: a numbered heading and three of the report's paragraphs."""
    body_paras = [b for b in blocks if b.kind == "body" and 60 <= len(b.text) <= 380]
    sections = []
    for n in range(pages):
        paras = [body_paras[(3 * n + k) % len(body_paras)] for k in range(3)]
        inner = "".join(f"<p>{html.escape(p.text)}</p>" for p in paras)
        sections.append(f'<div class="page"><h2>第{n + 1}部分 工作情况之{n + 1}</h2>{inner}</div>')
    return _page("网信工作资料汇编", "\n".join(sections), running_header="洛阳市委网信办 内部资料")


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and CJK_FONTS.is_dir()


def print_pdf(page_html: str, path: Path, header_footer: bool = True, timeout: float = 180) -> Path:
    """Print an HTML page to `path` with headless Chromium (with its own header and footer on each page)."""
    # Chromium prints the page's address in its footer: a folder named by the page's content keeps
    # that footer the same from run to run (a random temporary path made OCR tests flaky and the
    # OCR cache grow with every run).
    digest = hashlib.sha1(page_html.encode("utf-8")).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"assistant-print-{digest}"
    folder.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = folder / (path.stem + ".html")
        source.write_text(page_html, encoding="utf-8")
        out = Path(tmp) / "out.pdf"
        cmd = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}",
            *([] if header_footer else ["--no-pdf-header-footer"]), source.as_uri(),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0 or not out.exists():
            raise RuntimeError(f"chromium could not print {source.name}: {result.stderr.strip()[-300:]}")
        shutil.move(str(out), path)
    return path


def scanned_pdf(path: Path, text: str = "扫描件：本页只有图像，没有文字层。") -> Path:
    """A PDF whose only page is a picture of text, as a scanner makes it."""
    from PIL import Image, ImageDraw, ImageFont

    font_file = next(CJK_FONTS.glob("NotoSansCJK-Regular.ttc"), None)
    font = ImageFont.truetype(str(font_file), 36) if font_file else ImageFont.load_default()
    image = Image.new("RGB", (1240, 1754), "white")
    ImageDraw.Draw(image).text((120, 160), text, fill="black", font=font)
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "scan.png"
        image.save(png)
        page = _page("扫描件", f'<img src="{png.as_uri()}" style="width:100%">')
        return print_pdf(page, path, header_footer=False)


# --------------------------------------------------------------------------- scans

SKEW_DEGREES = 0.6  # how askew a careful scan lies: pages alternate ±0.6°
NOISE = 12.0  # grey-level noise (standard deviation) of a scanner's sensor and paper


def scan_pages(
    printed: Path,
    dpi: int,
    pages: list[int] | None = None,
    skew: float = SKEW_DEGREES,
    noise: float = NOISE,
    seed: int = 0,
) -> list:
    """The pages of a printed PDF as a scanner gives them: grey images at `dpi`, turned a little, with noise."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    rng = np.random.default_rng(seed)
    pdf = pdfium.PdfDocument(str(printed))
    images = []
    try:
        for i in pages if pages is not None else range(len(pdf)):
            page = pdf[i]
            grey = page.render(scale=dpi / 72).to_pil().convert("L")
            page.close()
            turned = grey.rotate(skew if i % 2 else -skew, resample=Image.BICUBIC, fillcolor=255)
            pixels = np.asarray(turned, dtype=np.float32) + rng.normal(0, noise, turned.size[::-1])
            images.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))
    finally:
        pdf.close()
    return images


def image_pdf(images: list, path: Path, dpi: int) -> Path:
    """A PDF of page images only (JPEG, as scanners write them): no text layer."""
    _save(path, lambda name: images[0].save(name, format="PDF", save_all=True, append_images=images[1:],
                                             resolution=dpi, quality=85))  # fmt: skip
    return path


def scanned_report(printed: Path, path: Path, dpi: int = 150, pages: list[int] | None = None) -> Path:
    """The printed report (or some of its pages) scanned at `dpi` into an image-only PDF."""
    return image_pdf(scan_pages(printed, dpi, pages), path, dpi)


def two_column_html(blocks: list[Block], paragraphs: int = 6) -> str:
    """A page with a full-width title over two columns of the report's paragraphs, as bulletins are set."""
    body = [b for b in blocks if b.kind == "body" and 60 <= len(b.text) <= 200][:paragraphs]
    inner = "".join(f"<p>{html.escape(b.text)}</p>" for b in body)
    return _page(
        "两栏",
        f'<h1>网信工作简报</h1><div style="column-count: 2; column-gap: 12mm; font-size: 12pt">{inner}</div>',
    )


COUNTIES = ("洛龙区", "西工区", "老城区", "瀍河区", "涧西区", "吉利区", "偃师市", "孟津县", "新安县", "宜阳县",
            "洛宁县", "伊川县", "嵩县", "汝阳县", "栾川县")  # fmt: skip
TABLE_HEADER = ("县（市、区）", "网信机构人数", "今年处置舆情（起）", "备注")


def table_rows_made(repeat: int = 1) -> list[tuple[str, ...]]:
    """A table as reports print them: a header, then a row per county (numbers made up, distinct per row)."""
    rows = []
    for i, name in enumerate(COUNTIES * repeat):
        # past the counties, districts of their own names (none holds another's name: 涧西区 ≠ 涧西区3)
        rows.append((name if i < len(COUNTIES) else f"片区{i + 1}", str(3 + i % 5),
                     str(20 + 7 * i), "已设立" if i % 3 else "正在筹建"))  # fmt: skip
    return rows


def table_html(rows: list[tuple[str, ...]], header: tuple[str, ...] = TABLE_HEADER) -> str:
    """A page with a heading, a sentence, the table (its header in `<thead>`, repeated on each printed
    page by the browser, centred as `<th>` is) and a closing sentence."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return _page(
        "各县网信机构情况",
        "<h2>一、各县网信机构情况</h2><p>各县（市、区）网信机构情况见下表。</p>"
        f'<table border="1" style="border-collapse: collapse; width: 100%"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table><p>以上为截至十一月底的数据。</p>",
    )
