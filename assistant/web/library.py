"""The web chat's document library: who may change it, uploads checked file by file, and the swap after a change.

The page's 文档 panel lists the documents and, for people allowed to, adds uploaded files and removes
documents through `assistant.store.library` (the same functions as `assistant add / remove`). Who may change the
library: with a login configured, a logged-in user; without one, only a browser on this machine — judged by
the address the server sees the request come from, never by a header the browser sends.

An `Assistant` keeps the index build it loaded for as long as it lives, so a change never alters it:
`Library` builds the index, loads a new `Assistant` (sharing the loaded model) and makes it current.
Requests already running finish on the old one. One change at a time.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from assistant.config import Settings
from assistant.ingest import SUFFIXES, UNSUPPORTED
from assistant.pipeline import Assistant
from assistant.store import library
from assistant.store.build import Progress
from assistant.store.library import Change, Entry
from assistant.store.local import IndexProblem, current_folder

__all__ = [
    "MAX_FILES",
    "Library",
    "Notice",
    "Upload",
    "change_refused",
    "client_name",
    "is_local",
    "reason_in_chinese",
    "uploads_from_event",
]

log = logging.getLogger(__name__)

MAX_FILES = 50  # files in one upload; more are refused with one line
UploadProblem = Literal["type", "size", "upload"]

LOCAL_ONLY = (
    "从其他电脑打开本页时只能查看文档。要添加或删除文档，请在运行本服务的电脑上打开本页（127.0.0.1），"
    "或请管理员设置登录（ASSISTANT_USERNAME / ASSISTANT_PASSWORD）。"
)
LOGIN_NEEDED = "请先登录，再添加或删除文档。"
FAILED = "修改文档库时出了问题，文档库没有改变。请稍后再试。"

# The reasons the corpus reader gives (assistant/ingest), in the page's language: (words in the reason, saying).
_REASONS: tuple[tuple[str, str], ...] = (
    (
        "no text layer",
        "这个 PDF 没有文字层（可能是扫描件）：读取它需要安装文字识别（OCR）组件 "
        'pip install "luoyang-report-assistant[ocr]"',
    ),
    (
        "text layer is not text",
        "这个 PDF 的文字层无法识别为文字（字体缺少编码映射）：读取它需要安装文字识别（OCR）组件 "
        'pip install "luoyang-report-assistant[ocr]"',
    ),
    ("a page image", '这是页面图片：读取它需要安装文字识别（OCR）组件 pip install "luoyang-report-assistant[ocr]"'),
    ("by ocr", "文字识别（OCR）没有在其中找到文字"),
    ("not an image", "文件已损坏，或不是图片"),
    ("password is needed", "这个 PDF 已加密，需要密码才能打开"),
    ("security handler", "这个 PDF 的加密方式不受支持"),
    ("old .doc/.wps file renamed", "无法作为 Word .docx 读取：可能已加密，或是改了扩展名的旧版 .doc/.wps 文件"),
    ("damaged or not a word", "文件已损坏，或不是 Word .docx 文件"),
    ("damaged", "文件已损坏，或不是它的扩展名所说的格式"),
    ("binary file", "不是文本文件"),
    ("not utf-8", "文字编码无法识别（应为 UTF-8 或 GB18030）"),
    ("no readable text in the page", "网页中没有可读的正文"),
    ("mb limit", "文件太大"),
    (".doc format", "旧版 Word .doc 文件无法读取，请另存为 .docx 后再上传"),
    (".wps format", "WPS .wps 文件无法读取，请另存为 .docx 后再上传"),
    ("rtf is not", "RTF 文件无法读取，请另存为 .docx 后再上传"),
    (".odt is not", "OpenDocument .odt 文件无法读取，请另存为 .docx 后再上传"),
)


@dataclass(frozen=True)
class Upload:
    """One file the browser sent: where the server stored it, or why the browser did not send it."""

    name: str  # the file's name on the user's machine (for messages only)
    path: Path | None = None  # in Gradio's upload folder
    problem: UploadProblem | None = None


@dataclass(frozen=True)
class Notice:
    """One line of the panel's report on a change: done, nothing to do (the same file again), or refused."""

    kind: Literal["done", "same", "refused"]
    text: str
    # For the HTTP API's results (not compared: the page shows the text alone): the file as sent, its library name.
    file: str = field(default="", compare=False)
    name: str | None = field(default=None, compare=False)


# --- who may change the library ------------------------------------------------------------------


def is_local(host: str | None) -> bool:
    """Whether a client address is this machine's loopback (127.0.0.0/8, ::1, or IPv4 loopback mapped to IPv6)."""
    try:
        address = ipaddress.ip_address((host or "").strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def change_refused(settings: Settings, client_host: str | None, username: str | None) -> str:
    """Why this request may not change the library ("" when it may). `client_host` is the peer address of the
    connection as the server sees it (the ASGI scope's client), not a forwarded-for header."""
    if settings.username:
        return "" if username else LOGIN_NEEDED
    return "" if is_local(client_host) else LOCAL_ONLY


# --- uploads --------------------------------------------------------------------------------------


def uploads_from_event(data: object, upload_folder: Path) -> list[Upload]:
    """The files of an upload event, in the order chosen, as the page's script sent them: `{"files": [{"name",
    "path"} or {"name", "problem"}, …]}`. The data comes from the browser, so nothing in it is trusted: a path
    outside Gradio's upload folder (or not a regular file there) counts as a failed upload, not as a file."""
    items = data.get("files") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    root = upload_folder.resolve()
    out: list[Upload] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name, problem, given = client_name(item.get("name")), item.get("problem"), item.get("path")
        if problem is not None:
            out.append(Upload(name, problem=problem if problem in ("type", "size") else "upload"))
            continue
        path = Path(given).resolve() if isinstance(given, str) and given else None
        if path is None or not path.is_relative_to(root) or path == root or not path.is_file():
            out.append(Upload(name, problem="upload"))
        else:
            out.append(Upload(name, path))
    return out


def client_name(value: object) -> str:
    """A file name from the browser, for messages: its last part, on one line, not too long."""
    name = " ".join(str(value or "").replace("\\", "/").split("/")[-1].split())
    return (name[:80] + "…") if len(name) > 80 else name or "（无名文件）"


def _check(upload: Upload, settings: Settings) -> Notice | None:
    """The server's own check of an uploaded file's type and size (the page checked them too, before sending)."""
    suffix = Path(upload.path.name if upload.path else upload.name).suffix.lower()
    problem = upload.problem
    if problem is None and upload.path is not None:
        if suffix not in SUFFIXES:
            problem = "type"
        elif upload.path.stat().st_size > settings.max_upload_mb * 2**20:
            problem = "size"
    if problem is None:
        return None
    if problem == "type":
        why = reason_in_chinese(UNSUPPORTED[suffix]) if suffix in UNSUPPORTED else f"不支持这种文件，{kinds_text()}"
    elif problem == "size":
        why = f"文件太大，每个文件不能超过 {settings.max_upload_mb:g} MB"
    else:
        why = "上传没有成功，请重试"
    return Notice("refused", f"{upload.name}：{why}。", upload.name)


def kinds_text() -> str:
    """The file types the library takes, for the page."""
    return "可以上传 " + " ".join(s for s in SUFFIXES if s != ".htm") + " 文件"


def reason_in_chinese(reason: str) -> str:
    """The corpus reader's reason for not reading a file, in the page's language (the English as a last resort)."""
    lowered = reason.lower()
    return next((said for words, said in _REASONS if words in lowered), f"无法读取（{reason}）")


def _notice(change: Change, names: dict[str, str]) -> Notice:
    """A change of `library.add`, said for the page: by the name the user knows, never the server's paths."""
    given = names.get(change.given, Path(change.given).name)
    if change.outcome == "added":
        return Notice("done", f"已添加 {change.name}。", given, change.name)
    if change.outcome == "renamed":
        said = f"已添加 {given}，改名为 {change.name}：文档库中已有另一份同名的文档。"
        return Notice("done", said, given, change.name)
    if change.outcome == "replaced":
        return Notice("done", f"已用 {given} 替换 {change.name}。", given, change.name)
    if change.outcome == "duplicate":
        where = "" if change.name == given else f"（即 {change.name}）"
        return Notice("same", f"{given} 已在文档库中{where}，没有重复添加。", given, change.name)
    reason = change.message.removeprefix(f"{change.given}: ")
    return Notice("refused", f"{given}：{reason_in_chinese(reason)}。", given)


# --- the current Assistant and the changes that replace it -------------------------------------------


class Library:
    """The web app's current `Assistant`, and the library changes that replace it with a new one."""

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self._assistant = assistant
        self.settings = settings
        self._changing = threading.Lock()  # one change (or reload) at a time

    @property
    def assistant(self) -> Assistant:
        """The `Assistant` a request should use from start to end (take it once per request)."""
        return self._assistant

    def follow(self) -> Assistant:
        """The current `Assistant`, loaded again first when another process (`assistant add`, `remove`, `index`)
        has made a new build current. A change under way here is not waited for."""
        assistant = self._assistant
        try:
            moved = current_folder(self.settings.index_dir) != assistant.index.folder
        except IndexProblem:
            return assistant  # the old build keeps answering; the next build repairs the pointer
        if moved and self._changing.acquire(blocking=False):
            try:
                if current_folder(self.settings.index_dir) != self._assistant.index.folder:
                    self._reload()
            except Exception:  # a build that cannot be loaded: keep answering from the one we have
                log.exception("loading the new index build failed")
            finally:
                self._changing.release()
        elif not moved and self.settings.store == "milvus" and self._changing.acquire(blocking=False):
            try:  # documents changed in Milvus by another process (another web worker, `assistant add`)
                self._assistant = self._assistant.current()
            finally:
                self._changing.release()
        return self._assistant

    def documents(self) -> list[Entry]:
        return library.documents(self.settings)

    def add(self, uploads: Sequence[Upload], progress: Progress | None = None) -> list[Notice]:
        """Add the uploaded files (each checked here first), index them, and make the new index current.
        One line per file, in the order given."""
        extra = len(uploads) - MAX_FILES
        tail = [Notice("refused", f"一次最多上传 {MAX_FILES} 个文件，其余 {extra} 个没有处理。")] if extra > 0 else []
        slots = [_check(u, self.settings) or u for u in uploads[:MAX_FILES]]
        good = [u for u in slots if isinstance(u, Upload) and u.path is not None]
        if not good:
            return [s for s in slots if isinstance(s, Notice)] + tail
        # Gradio keeps the file's own name in its upload folder: that is the name it gets in the library.
        names = {str(u.path): u.name for u in good}
        paths = [u.path for u in good if u.path is not None]
        changes = self._change(lambda p: library.add(self.settings, paths, self._embedder(), p), progress)
        if changes is None:
            return [s for s in slots if isinstance(s, Notice)] + [Notice("refused", FAILED)] + tail
        said = iter([_notice(c, names) for c in changes])
        return [next(said) if isinstance(s, Upload) else s for s in slots] + tail

    def remove(self, name: str, progress: Progress | None = None) -> list[Notice]:
        """Remove one document (by its name in the library) and make the index without it current."""
        names = [e.name for e in self.documents()]
        if name not in names:
            return [Notice("same", f"文档库中已经没有 {name}（可能刚被删除）。")]
        if len(names) == 1:
            return [
                Notice("refused", f"{name} 是最后一份文档，不能删除：至少要有一份文档才能回答问题，可以先添加另一份。")
            ]
        changes = self._change(lambda p: library.remove(self.settings, [name], self._embedder(), p), progress)
        if changes is None:
            return [Notice("refused", FAILED)]
        return [Notice("done", f"已删除 {c.name}。") for c in changes if c.changed]

    def _embedder(self):  # noqa: ANN202  (the model loaded once, shared with the answering Assistant)
        return self._assistant.embedder

    def _change(
        self, change: Callable[[Progress | None], library.LibraryReport], progress: Progress | None
    ) -> tuple[Change, ...] | None:
        """Carry out a change and, when it changed something, swap in an `Assistant` over the new build.
        None when it failed (logged); the current `Assistant` then keeps answering as before."""
        with self._changing:
            try:
                report = change(progress)
                if any(c.changed for c in report.changes):
                    if progress:
                        progress("loading", 0, 0)
                    self._reload()
            except Exception:  # the page says so politely; the operator reads why in the log
                log.exception("changing the library failed")
                return None
            return report.changes

    def _reload(self) -> None:
        self._assistant = Assistant(self.settings, embedder=self._assistant.embedder)
