"""The document library in the web chat, for real: files written here (a .docx by python-docx), uploaded
through headless Chromium to a real server over a real index, listed, asked about, removed; who may change
the library, judged from a real connection's address; the `/ask` API's `doc` and `/documents`.

The checks of `assistant/web/library.py` that need no server come first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import docx
import httpx
import pytest
from gradio import utils as gradio_utils
from gradio_client import Client
from gradio_client.exceptions import AppError
from test_app import Page

from assistant.ingest import CorpusError, read_document
from assistant.pipeline import Assistant
from assistant.store import library
from assistant.web import app as web
from assistant.web.library import Notice, Upload, change_refused, is_local, reason_in_chinese, uploads_from_event

pytestmark = [
    # Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

ROOT = Path(__file__).resolve().parents[2]
REPORT = next((ROOT / "corpus").glob("*.txt"))
SCREENSHOT = ROOT / "docs" / "library.png"
WAIT_MS = 120_000  # a change embeds a document and loads the index again; the machine may be busy

BRIEF = "# 信息化建设简报\n\n2018年6月1日\n\n## 一、政务云\n全市已有 42 个部门的业务系统迁移上云。\n"
NOTE = "网信工作补充说明\n\n今年新招录网信干部二十名，充实到网络安全岗位。\n"
TRAFFIC_QUESTION = "全市新开通了多少条公交线路？"


# --- who may change the library, and what an upload event may carry (no server) -------------------


def test_local_means_a_loopback_address() -> None:
    assert all(is_local(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "::ffff:127.0.0.1"))
    assert not any(is_local(h) for h in ("192.0.2.2", "10.0.0.1", "::ffff:10.0.0.1", "localhost", "", None))


def test_without_login_only_this_machine_may_change_the_library(settings) -> None:
    assert change_refused(settings, "127.0.0.1", None) == ""
    assert "只能查看" in change_refused(settings, "192.0.2.2", None)
    assert "只能查看" in change_refused(settings, None, None)
    login = settings.with_(username="reader", password="s3cret")
    assert change_refused(login, "192.0.2.2", "reader") == ""
    assert change_refused(login, "127.0.0.1", None) == "请先登录，再添加或删除文档。"


def test_an_upload_event_trusts_no_path_outside_the_upload_folder(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    (folder / "abc").mkdir(parents=True)
    good = folder / "abc" / "报告.txt"
    good.write_text(NOTE, encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("不该被读到", encoding="utf-8")
    (folder / "abc" / "link.txt").symlink_to(secret)
    data = {
        "files": [
            {"name": "报告.txt", "path": str(good)},
            {"name": "secret.txt", "path": str(secret)},
            {"name": "up.txt", "path": str(folder / "abc" / ".." / ".." / "secret.txt")},
            {"name": "link.txt", "path": str(folder / "abc" / "link.txt")},
            {"name": "folder", "path": str(folder)},
            {"name": "C:\\Users\\x\\扫描件.doc", "problem": "type"},
            {"name": "big.pdf", "problem": "whatever"},
            "not a dict",
        ]
    }
    assert uploads_from_event(data, folder) == [
        Upload("报告.txt", good.resolve()),
        Upload("secret.txt", problem="upload"),
        Upload("up.txt", problem="upload"),
        Upload("link.txt", problem="upload"),
        Upload("folder", problem="upload"),
        Upload("扫描件.doc", problem="type"),
        Upload("big.pdf", problem="upload"),
    ]
    assert uploads_from_event({"files": "x"}, folder) == uploads_from_event(None, folder) == []


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("x.txt", b"ab\x00cd", "不是文本文件"),
        ("x.txt", b"\xff\xfe\xfa\xfb" * 8, "文字编码无法识别"),
        ("x.pdf", b"%PDF-1.4 not really", "文件已损坏"),
        ("x.docx", b"PK\x03\x04 not really", "文件已损坏，或不是 Word .docx 文件"),
        ("x.doc", b"\xd0\xcf\x11\xe0", "旧版 Word .doc 文件无法读取"),
        ("x.html", b"<html><script>var a;</script></html>", "网页中没有可读的正文"),
    ],
)
def test_the_readers_reasons_are_said_in_chinese(tmp_path: Path, name: str, data: bytes, said: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorpusError) as refused:
        read_document(path, tmp_path)
    reason = str(refused.value).removeprefix(f"{path.as_posix()}: ")
    assert said in reason_in_chinese(reason)
    assert not reason_in_chinese(reason).startswith("无法读取（")  # not the last resort


# --- a real server over a library of our own --------------------------------------------------------


@contextlib.contextmanager
def serving(assistant: Assistant, **changes) -> Iterator[tuple[str, object]]:
    """A real app server on a free port (any interface when `host` says so), with `changes` to the settings."""
    settings = assistant.settings.with_(**{"host": "127.0.0.1", **changes, "port": 0})
    demo = web.build_app(assistant, settings)
    _, url, _ = web.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, demo
    finally:
        demo.close(verbose=False)


def _traffic_docx(folder: Path) -> Path:
    """A Word report written by python-docx: title, date, a heading, a paragraph with the answer."""
    document = docx.Document()
    document.add_heading("城市交通年度报告", 0)
    document.add_paragraph("2019年3月1日")
    document.add_heading("一、公交线路", 1)
    document.add_paragraph("全市新开通公交线路 17 条，日均客运量达到 85 万人次。")
    document.add_heading("二、慢行交通", 1)
    document.add_paragraph("新建自行车道 60 公里，公共自行车站点 300 个。")
    path = folder / "traffic.docx"
    document.save(str(path))
    return path


def _long_report(path: Path, items: int = 40) -> Path:
    """A report of 40 sections of ten sentences: long enough that embedding it takes a moment."""
    lines = ["长篇年度工作报告", ""]
    for i in range(1, items + 1):
        lines.append(f"{i}、第{i}项工作")
        lines += [f"第{i}项工作的第{j}个方面，全年完成投资{(i * 37 + j * 11) % 900 + 10}万元。" for j in range(10)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def incoming(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files a person would upload, on their own machine."""
    folder = tmp_path_factory.mktemp("incoming")
    _traffic_docx(folder)
    (folder / "网信补充说明.txt").write_text(NOTE, encoding="utf-8")
    with (folder / "big.txt").open("wb") as big:  # over the 50 MB upload limit (sparse: no disk space taken)
        big.truncate(51 * 2**20)
    (folder / "扫描件.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    (folder / "photo.exe").write_bytes(b"MZ\x90\x00")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF at all")
    _long_report(folder / "长篇报告.txt")
    return folder


@pytest.fixture(scope="module")
def library_settings(assistant, tmp_path_factory: pytest.TempPathFactory):
    """A corpus of two documents (the report and a brief), its own index."""
    corpus = tmp_path_factory.mktemp("library-corpus")
    shutil.copy2(REPORT, corpus / REPORT.name)
    (corpus / "brief.md").write_text(BRIEF, encoding="utf-8")
    return assistant.settings.with_(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("library-index"))


@pytest.fixture(scope="module")
def local(assistant, library_settings) -> Iterator[tuple[str, object]]:
    """The server, on 127.0.0.1: every visitor comes from this machine, so may change the library."""
    with serving(Assistant(library_settings, embedder=assistant.embedder), **_changes(library_settings)) as served:
        yield served


def _changes(settings) -> dict:
    return {"corpus_dir": settings.corpus_dir, "index_dir": settings.index_dir, "max_upload_mb": 50}


class LibraryPage(Page):
    """The chat with its 文档 panel open."""

    def __init__(self, browser, url: str, width: int = 1280, height: int = 1000):
        self.host = url.split("/")[2]  # requests elsewhere than this server would leave the machine
        super().__init__(browser, url, width, height)
        self.page.get_by_text("文档", exact=True).click()
        self.table = self.page.locator("#qa-library")
        self.table.locator(".qa-docs").wait_for()
        self.status = self.page.locator("#qa-library-status")

    def _request(self, request) -> None:  # the page may be opened through another of this machine's addresses
        if request.url.startswith(("http", "ws")) and request.url.split("/")[2] != self.host:
            self.outside.append(request.url)

    def changed(self, before: str) -> list[str]:
        """Wait until the panel says something new after a change; its lines, one per file."""
        self.page.wait_for_function(
            "before => { const n = document.querySelector('#qa-library-status .qa-notices');"
            " return n && n.innerText !== before; }",
            arg=before,
            timeout=WAIT_MS,
        )
        return self.status.locator(".qa-notices li").all_inner_texts()

    def upload(self, *files: Path) -> list[str]:
        """Choose files in the upload's file picker; the lines the panel then says, one per file."""
        before = self._notices()
        self.page.locator("#qa-upload input[type=file]").set_input_files([str(f) for f in files])
        return self.changed(before)

    def _notices(self) -> str:
        notices = self.status.locator(".qa-notices")
        return notices.inner_text() if notices.count() else ""

    def rows(self) -> dict[str, str]:
        """The library's table: file name → the row's text."""
        rows = self.table.locator("tbody tr")
        return {rows.nth(i).locator(".qa-file").inner_text(): rows.nth(i).inner_text() for i in range(rows.count())}

    def choose(self, label: str) -> None:
        self.page.locator("#qa-doc input").click()
        self.page.get_by_role("option", name=label, exact=True).click()

    def remove(self, name: str, confirm: bool = True) -> list[str]:
        self.table.locator(f'button[data-remove="{name}"]').click()
        self.page.locator(".qa-confirm").wait_for()
        if not confirm:
            self.page.locator("#qa-remove-no").click()
            self.page.locator(".qa-confirm").wait_for(state="detached")
            return []
        before = self._notices()
        self.page.locator("#qa-remove-yes").click()
        return self.changed(before)


def _cleanup(demo, *names: str) -> None:
    """Leave the library as the module's tests expect it: the report and the brief."""
    present = {e.name for e in demo.library.documents()}
    for name in names:
        if name in present:
            demo.library.remove(name)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_upload_list_ask_one_document_and_remove(browser, local, incoming: Path):
    url, demo = local
    page = LibraryPage(browser, url)
    try:
        assert set(page.rows()) == {REPORT.name, "brief.md"}
        assert page.page.locator("#qa-doc").is_visible()  # two documents: a choice to make
        said = page.upload(incoming / "traffic.docx", incoming / "网信补充说明.txt")
        assert said == ["✓已添加 traffic.docx。", "✓已添加 网信补充说明.txt。"]
        rows = page.rows()
        assert "城市交通年度报告" in rows["traffic.docx"] and "DOCX" in rows["traffic.docx"]
        assert "2019 年 3 月 1 日" in rows["traffic.docx"]
        assert "网信工作补充说明" in rows["网信补充说明.txt"] and "TXT" in rows["网信补充说明.txt"]
        assert page.page.locator(".qa-header h1").inner_text() == "4 份文档问答"
        assert sorted(p.name for p in demo.library.settings.corpus_dir.iterdir()) == sorted(
            [REPORT.name, "brief.md", "traffic.docx", "网信补充说明.txt"]
        )
        assert not list(Path(gradio_utils.get_upload_folder()).glob("*/traffic.docx"))  # the upload's copy is gone

        # One document at a time: the new one answers, with its title on the source.
        page.choose("《城市交通年度报告》")
        reply = page.ask(TRAFFIC_QUESTION)
        assert "17" in reply.locator(".qa-text").inner_text()
        assert reply.locator(".qa-confidence").inner_text().startswith("把握：")
        if os.environ.get("UPDATE_SCREENSHOT"):  # the README's picture, refreshed only on request
            _screenshot(page, SCREENSHOT)
        reply.locator("details.qa-sources summary").click()
        assert "《城市交通年度报告》" in reply.locator(".qa-source-head").first.inner_text()
        assert demo.library.assistant.index.documents.count("traffic.docx") == 1

        # Removing asks first; "取消" leaves the document in place.
        page.remove("traffic.docx", confirm=False)
        assert "traffic.docx" in page.rows()
        said = page.remove("traffic.docx")
        assert said == ["✓已删除 traffic.docx。"]
        assert "traffic.docx" not in page.rows() and not (demo.library.settings.corpus_dir / "traffic.docx").exists()
        assert page.page.locator("#qa-doc input").input_value() == "全部文档"  # the removed one is no choice
        assert page.page.locator(".qa-header h1").inner_text() == "3 份文档问答"
        # The conversation goes on over the new index: the earlier turn quoted the removed document.
        reply = page.ask("日均客运量达到多少？")
        assert reply.locator(".qa-notice").count() == 0, reply.inner_text()
        assert "85" not in reply.locator(".qa-text").inner_text()
        assert "traffic.docx" not in demo.library.assistant.index.documents
        assert page.outside == [] and page.dialogs == []
    finally:
        page.close()
        _cleanup(demo, "traffic.docx", "网信补充说明.txt")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_the_same_file_twice_is_said_plainly(browser, local, incoming: Path):
    url, demo = local
    page = LibraryPage(browser, url)
    try:
        assert page.upload(incoming / "网信补充说明.txt") == ["✓已添加 网信补充说明.txt。"]
        built = demo.library.assistant.index.folder
        said = page.upload(incoming / "网信补充说明.txt")
        assert said == ["○网信补充说明.txt 已在文档库中，没有重复添加。"]
        assert page.status.locator(".qa-same").count() == 1 and page.status.locator(".qa-refused").count() == 0
        assert demo.library.assistant.index.folder == built  # nothing built, nothing swapped
        assert len(page.rows()) == 3
        assert page.page.locator(".toast-body, .error").count() == 0
    finally:
        page.close()
        _cleanup(demo, "网信补充说明.txt")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_refuses_files_one_by_one_and_shows_progress(browser, local, incoming: Path):
    url, demo = local
    page = LibraryPage(browser, url)
    try:
        files = ["big.txt", "扫描件.doc", "photo.exe", "broken.pdf", "长篇报告.txt"]
        page.page.locator("#qa-upload input[type=file]").set_input_files([str(incoming / f) for f in files])
        # 441 sentences to embed: the progress shows over the status line while they are.
        page.status.get_by_text("嵌入句子").wait_for(timeout=WAIT_MS)
        page.status.locator(".qa-notices").wait_for(timeout=WAIT_MS)
        said = page.status.locator(".qa-notices li").all_inner_texts()
        assert said == [
            "✗big.txt：文件太大，每个文件不能超过 50 MB。",
            "✗扫描件.doc：旧版 Word .doc 文件无法读取，请另存为 .docx 后再上传。",
            "✗photo.exe：不支持这种文件，可以上传 .txt .md .docx .pdf .html .png .jpg .jpeg .tif .tiff 文件。",
            "✗broken.pdf：文件已损坏，或不是它的扩展名所说的格式。",
            "✓已添加 长篇报告.txt。",
        ]
        assert sorted(page.rows()) == sorted([REPORT.name, "brief.md", "长篇报告.txt"])
        assert sorted(p.name for p in demo.library.settings.corpus_dir.iterdir()) == sorted(
            [REPORT.name, "brief.md", "长篇报告.txt"]
        )  # nothing refused was stored, nothing half-written is left
        assert page.page.locator(".toast-body, .error").count() == 0
    finally:
        page.close()
        _cleanup(demo, "长篇报告.txt")


def _screenshot(page: LibraryPage, target: Path) -> None:
    """The README's picture: an answer from the document chosen, the library's documents, what the upload did."""
    page.page.set_viewport_size({"width": 1280, "height": 640})
    page.page.wait_for_timeout(300)
    target.parent.mkdir(exist_ok=True)
    page.page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 20_000


# --- another machine: looks, may not change ----------------------------------------------------------


def _outside_address() -> str | None:
    """One of this machine's addresses that is not loopback (connecting to it, the server sees that address)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only chooses the route's source address
        address = s.getsockname()[0]
        if not is_local(address) and address != "0.0.0.0":
            return address
    return None


@pytest.fixture(scope="module")
def outside() -> str:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no address but loopback: no other client address to test with")
    return address


@pytest.fixture(scope="module")
def remote(assistant, library_settings, outside: str) -> Iterator[tuple[str, object]]:
    """The same library served on every interface, visited through this machine's outside address."""
    current = Assistant(library_settings, embedder=assistant.embedder)
    with serving(current, **_changes(library_settings), host="0.0.0.0", allowed_hosts=(outside,)) as (url, demo):
        yield url.replace("127.0.0.1", outside), demo


def _forced_remove(url: str, name: str, headers: dict | None = None) -> str:
    """Call the page's remove event directly, as a script could, bypassing the page: what the server answers."""
    config = httpx.get(url + "config", headers=headers).json()
    button = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "qa-remove-yes")
    event = next(d for d in config["dependencies"] if [button["id"], "click"] in [list(t) for t in d["targets"]])
    session = "forced-" + os.urandom(4).hex()
    body = {"data": [name, ""], "fn_index": event["id"], "session_hash": session, "trigger_id": button["id"]}
    joined = httpx.post(url + "gradio_api/queue/join", json={**body, "event_data": None}, headers=headers)
    assert joined.status_code == 200, joined.text
    with httpx.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}, headers=headers,
                      timeout=60) as stream:  # fmt: skip
        for line in stream.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                return message["output"]["data"][0]
    raise AssertionError("the event never completed")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_from_another_machine_the_panel_only_lists(browser, remote, library_settings):
    url, demo = remote
    page = LibraryPage(browser, url)
    try:
        assert set(page.rows()) == {REPORT.name, "brief.md"}
        assert "只能查看文档" in page.page.locator(".qa-library-note").inner_text()
        assert page.page.locator("#qa-upload").count() == 0
        assert page.table.locator("button[data-remove]").count() == 0
        reply = page.ask("全市有多少个部门的业务系统迁移上云？")  # asking is for everyone
        assert "42" in reply.locator(".qa-text").inner_text()
    finally:
        page.close()
    # The server checks again, whatever the page shows: a direct call is refused, a forged header changes nothing.
    for headers in (None, {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}):
        said = _forced_remove(url, "brief.md", headers)
        assert "只能查看文档" in said
        assert (library_settings.corpus_dir / "brief.md").exists()
    assert "brief.md" in demo.library.assistant.index.documents


@pytest.mark.browser
@pytest.mark.slow
def test_browser_with_a_login_a_logged_in_user_may_change_the_library(
    browser, assistant, library_settings, outside: str, incoming: Path
):
    current = Assistant(library_settings, embedder=assistant.embedder)
    login = {"username": "reader", "password": "s3cret"}
    with serving(current, **_changes(library_settings), host="0.0.0.0", allowed_hosts=(outside,), **login) as served:
        url, demo = served[0].replace("127.0.0.1", outside), served[1]
        page = browser.new_page()
        try:
            page.goto(url)
            page.get_by_label("username").fill("reader")
            page.get_by_label("password").fill("s3cret")
            page.get_by_role("button", name="Login").click()
            page.get_by_placeholder("输入问题").wait_for()
            page.get_by_text("文档", exact=True).click()
            page.locator("#qa-upload input[type=file]").set_input_files(str(incoming / "网信补充说明.txt"))
            page.locator("#qa-library-status .qa-notices").wait_for(timeout=WAIT_MS)
            assert page.locator("#qa-library-status").inner_text().strip() == "✓已添加 网信补充说明.txt。"
            assert page.locator(".qa-library-note").count() == 0 or page.locator(".qa-library-note").inner_text() == ""
        finally:
            page.close()
            _cleanup(demo, "网信补充说明.txt")


# --- the API: /ask with doc, /documents ---------------------------------------------------------------


@pytest.mark.slow
def test_api_asks_one_document_and_lists_the_documents(local):
    url, _ = local
    client = Client(url, verbose=False)
    listed = client.predict(api_name="/documents")
    assert sorted(d["name"] for d in listed) == sorted([REPORT.name, "brief.md"])
    assert {d["name"]: d["title"] for d in listed}["brief.md"] == "信息化建设简报"
    answer = client.predict("全市有多少个部门的业务系统迁移上云？", 5, [], "extractive", "brief.md", api_name="/ask")
    assert "42" in answer["answer"] and {s["doc"] for s in answer["sources"]} == {"brief.md"}
    staff = client.predict("市委网信办目前有多少在编人员？", 5, [], "extractive", REPORT.name, api_name="/ask")
    assert "11" in staff["answer"] and {s["doc"] for s in staff["sources"]} == {REPORT.name}
    assert client.predict("市委网信办目前有多少在编人员？", 5, [], "extractive", "", api_name="/ask")["found"]
    with pytest.raises(AppError, match="没有名为“nothing.txt”的文档"):
        client.predict("市委网信办目前有多少在编人员？", 5, [], "extractive", "nothing.txt", api_name="/ask")


@pytest.mark.slow
def test_the_upload_folder_is_gradios(local):
    # The panel trusts only files in Gradio's upload folder: it must be the folder Gradio uploads to.
    url, _ = local
    uploaded = httpx.post(url + "gradio_api/upload", files={"files": ("a.txt", b"x")}).json()
    assert Path(uploaded[0]).resolve().is_relative_to(Path(gradio_utils.get_upload_folder()).resolve())


@pytest.mark.slow
def test_a_change_swaps_in_a_new_assistant_and_the_old_one_still_answers(local, tmp_path: Path):
    _, demo = local
    shelf = demo.library
    old = shelf.assistant
    assert shelf.remove("brief.md") == [Notice("done", "已删除 brief.md。")]
    assert shelf.assistant is not old and "brief.md" not in shelf.assistant.index.documents
    # A request that began before the change finishes on the build it started with.
    assert "42" in old.ask("全市有多少个部门的业务系统迁移上云？", doc="brief.md").text
    said = shelf.remove(REPORT.name)
    assert said[0].kind == "refused" and "是最后一份文档，不能删除" in said[0].text
    assert shelf.remove("brief.md") == [Notice("same", "文档库中已经没有 brief.md（可能刚被删除）。")]
    again = tmp_path / "brief.md"
    again.write_text(BRIEF, encoding="utf-8")
    assert shelf.add([Upload("brief.md", again)]) == [Notice("done", "已添加 brief.md。")]
    assert "brief.md" in shelf.assistant.index.documents


@pytest.mark.slow
def test_the_page_follows_a_change_made_elsewhere(local, library_settings, assistant, tmp_path: Path):
    # `assistant add` in a terminal builds the index; the web chat's next request answers from that build.
    url, demo = local
    note = tmp_path / "elsewhere.txt"
    note.write_text(NOTE, encoding="utf-8")
    library.add(library_settings, [note], embedder=assistant.embedder)
    try:
        client = Client(url, verbose=False)
        answer = client.predict("今年新招录了多少名网信干部？", 5, [], "extractive", "elsewhere.txt", api_name="/ask")
        assert "二十名" in answer["answer"]
        assert "elsewhere.txt" in demo.library.assistant.index.documents
    finally:
        _cleanup(demo, "elsewhere.txt")
