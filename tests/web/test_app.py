"""The web chat, for real: the app on a local port, the `/ask` API through gradio_client,
and the page in headless Chromium. Same model, index and corpus as in production; no mocks.
The HTML functions are tested on their own in test_html.py, the serving in test_server.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from assistant.pipeline import Assistant
from assistant.render.json import answer_to_dict
from assistant.web import app as web

pytestmark = [
    pytest.mark.slow,
    # Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
LIST_SCREENSHOT = SCREENSHOT.with_name("list-answer.png")

STAFF = "市委网信办目前有多少在编人员？"
UNANSWERABLE = "郑州市2016年的GDP是多少？"
INJECTION = "<img src=x onerror=alert(1)>"
# Questions the report answers, with a fact the answer must contain.
ANSWERABLE = {
    STAFF: "11",
    "今年以来发生了多少起网络攻击事件？": "50",
    "“精彩洛阳”官方微信有多少粉丝？": "2万",
    "市委网信办每天要接收多少条指令？": "100",
}
ANSWER_WAIT_MS = 60_000  # the first answer of a fresh process can take a few seconds on a slow CPU


@contextlib.contextmanager
def serving(assistant: Assistant, **changes) -> Iterator[tuple[str, object]]:
    """A real app server on a free local port, with `changes` to the assistant's settings."""
    settings = assistant.settings.with_(host="127.0.0.1", port=0, **changes)
    if any(name.startswith("llm_") for name in changes):  # the answerer reads its own settings
        assistant = Assistant(settings, embedder=assistant.embedder)
    demo = web.build_app(assistant, settings)
    _, url, _ = web.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, demo
    finally:
        demo.close(verbose=False)


@pytest.fixture(scope="module")
def server(assistant) -> Iterator[str]:
    """One real app server for the whole module, with the default settings."""
    with serving(assistant) as (url, _):
        yield url


@pytest.fixture
def client(server: str) -> Client:
    return Client(server, verbose=False)


# --- the /ask API ---------------------------------------------------------------------------------


def test_api_answers_from_the_report(client: Client, assistant):
    result = client.predict(STAFF, 5, [], api_name="/ask")
    assert result["found"] is True
    assert "11" in result["answer"] and "[1]" in result["answer"]
    assert "11" in result["sources"][0]["text"] and result["sources"][0]["used"]
    # The same JSON as `assistant ask --json`.
    assert result.keys() == answer_to_dict(assistant.ask(STAFF)).keys()
    assert len(client.predict(STAFF, 2, api_name="/ask")["sources"]) == 2


def test_api_says_when_the_report_does_not_answer(client: Client):
    result = client.predict(UNANSWERABLE, api_name="/ask")
    assert result["found"] is False
    assert result["answer"].startswith("报告中没有找到")


def test_api_passes_the_history_for_follow_ups(client: Client):
    result = client.predict("那县里呢？", 5, [STAFF], api_name="/ask")
    assert result["question"] == "那县里呢？"
    assert result["resolved_question"] == "县里有多少在编人员？"  # the first question, about the counties


def test_api_follow_up_is_answered_about_the_counties_or_not_at_all(client: Client):
    # The report gives no staff number for the counties: the honest answer is "not found",
    # with the county passages offered as related, never the city office's 11.
    result = client.predict("那县里呢？", 5, [STAFF], api_name="/ask")
    assert "11" not in result["answer"]
    assert result["found"] is False
    assert any("县" in s["text"] for s in result["sources"][:3])


def test_api_rejects_empty_and_over_long_questions_politely(client: Client, assistant):
    with pytest.raises(AppError, match="请输入问题"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(AppError, match="问题太长"):
        client.predict("问" * (assistant.settings.max_question_chars + 1), api_name="/ask")


def test_ten_concurrent_api_calls(server: str):
    questions = [list(ANSWERABLE)[i % len(ANSWERABLE)] for i in range(10)]

    def ask(question: str) -> tuple[str, dict]:
        return question, Client(server, verbose=False).predict(question, api_name="/ask")

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(ask, questions))
    assert len(results) == 10
    for question, result in results:
        assert result["found"] is True, question
        assert ANSWERABLE[question] in result["answer"], (question, result["answer"])


# --- the page in headless Chromium ----------------------------------------------------------------


class Page:
    """A fresh session on the chat, with the few actions the tests need."""

    def __init__(self, browser, url: str, width: int = 1280, height: int = 1000):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.dialogs: list[str] = []
        self.outside: list[str] = []  # requests that leave this machine: there must be none
        self.page.on("dialog", self._dialog)
        self.page.on("request", self._request)
        self.page.goto(url)
        self.box = self.page.get_by_placeholder("输入问题")
        self.box.wait_for()

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, request) -> None:
        if not request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            self.outside.append(request.url)

    @property
    def bot_messages(self):
        return self.page.get_by_test_id("bot")

    def ask(self, question: str, press_enter: bool = True):
        """Send a question and return the locator of the bot's reply once it is complete."""
        n = self.bot_messages.count()
        self.box.fill(question)
        if press_enter:
            self.box.press("Enter")
        else:
            self.page.get_by_role("button", name="提问", exact=True).click()
        return self.wait_reply(n)

    def wait_reply(self, n: int):
        reply = self.bot_messages.nth(n)
        reply.locator(".qa-answer, .qa-notice").wait_for(timeout=ANSWER_WAIT_MS)
        return reply

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def page(browser, server: str) -> Iterator[Page]:
    page = Page(browser, server)
    yield page
    assert page.outside == [], "the page reached out of this machine"
    page.close()


@pytest.mark.browser
def test_browser_answer_with_citation_and_highlighted_source(page: Page):
    reply = page.ask(STAFF)
    assert "11" in reply.locator(".qa-text").inner_text()
    assert reply.locator(".qa-cite", has_text="[1]").first.is_visible()
    sources = reply.locator("details.qa-sources")
    assert not reply.locator("mark").first.is_visible()  # folded away until asked for
    sources.locator("summary").click()
    mark = sources.locator(".qa-source").first.locator("mark")
    mark.wait_for()
    assert mark.is_visible() and "11" in mark.inner_text()
    assert sources.locator(".qa-source").first.locator("b", has_text="在编人员").first.is_visible()
    assert "综合得分" in sources.inner_text()


@pytest.mark.browser
def test_browser_example_question(page: Page):
    question = "今年以来发生了多少起网络攻击事件？"
    page.page.get_by_text(question, exact=True).click()
    reply = page.wait_reply(0)
    assert "50" in reply.locator(".qa-text").inner_text()
    assert page.page.get_by_test_id("user").first.inner_text().strip() == question


@pytest.mark.browser
def test_browser_follow_up(page: Page):
    page.ask(STAFF)
    reply = page.ask("那县里呢？")
    resolved = reply.locator(".qa-resolved").inner_text()
    assert "县里" in resolved and "在编人员" in resolved  # understood together with the first question
    # The report gives no number for the counties: the page says so and lists the county passages as related.
    assert reply.locator(".qa-source", has_text="县（市、区）").count() >= 1


@pytest.mark.browser
def test_browser_empty_and_over_long_questions_get_a_polite_message(page: Page, assistant):
    reply = page.ask("", press_enter=False)
    assert reply.locator(".qa-notice").inner_text() == "请输入问题。"
    assert page.page.get_by_test_id("user").count() == 0  # no empty bubble
    long = "请问" * assistant.settings.max_question_chars
    reply = page.ask(long)
    assert "问题太长" in reply.locator(".qa-notice").inner_text()
    assert page.box.input_value() == long  # kept, to be shortened
    assert page.page.locator(".toast-body, .error").count() == 0


@pytest.mark.browser
def test_browser_clear_conversation(page: Page):
    page.ask(STAFF)
    page.page.get_by_text("设置", exact=True).click()
    page.page.get_by_role("button", name="清空对话").click()
    page.bot_messages.first.wait_for(state="detached")
    reply = page.ask("那县里呢？")  # nothing to follow up on any more
    assert reply.locator(".qa-resolved").count() == 0


@pytest.mark.browser
def test_browser_screenshot_for_the_readme(browser, server: str, tmp_path: Path):
    # The README's picture is refreshed only on request (UPDATE_SCREENSHOT=1), so tests leave the tree clean.
    target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "screenshot.png"
    page = Page(browser, server, width=1280, height=1560)
    try:
        reply = page.ask(STAFF)
        reply.locator("details.qa-sources summary").click()
        reply.locator("mark").first.wait_for()
        # Show the conversation from its start: the question, the answer, then the open sources.
        page.page.get_by_test_id("user").first.scroll_into_view_if_needed()
        page.page.evaluate("document.querySelector('[role=log]')?.scrollTo(0, 0)")
        page.page.wait_for_timeout(300)
        target.parent.mkdir(exist_ok=True)
        page.page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 20_000
        assert page.outside == []
    finally:
        page.close()


@pytest.mark.browser
def test_browser_list_answer_is_a_numbered_list_with_citations(browser, server: str, assistant, tmp_path: Path):
    question = "贯彻落实意见要抓好哪几个方面？"
    expected = assistant.ask(question)
    # The picture in docs/ is refreshed only on request (UPDATE_SCREENSHOT=1), as the README's.
    target = LIST_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "list-answer.png"
    page = Page(browser, server, width=1100, height=900)
    try:
        reply = page.ask(question)
        items = reply.locator("ol.qa-items > li")
        assert items.count() == len(expected.items) == 6
        for n, item in enumerate(expected.items):
            li = items.nth(n)
            assert li.is_visible() and item.text in li.inner_text()
            assert li.locator(".qa-cite").inner_text() == f"[{item.source}]"  # each item cites its own source
        assert "重点要抓好以下六个方面的工作" in reply.locator(".qa-text").inner_text()  # the lead-in, above the list
        reply.locator("details.qa-sources summary").click()
        marks = reply.locator(".qa-source mark")
        marks.first.wait_for()
        assert marks.count() >= 6  # every item highlighted in its source
        page.page.get_by_test_id("user").first.scroll_into_view_if_needed()
        page.page.wait_for_timeout(300)
        target.parent.mkdir(exist_ok=True)
        page.page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 20_000
        assert page.outside == []
    finally:
        page.close()


# --- a library of two documents, one of them hostile -------------------------------------------

ATTACK = '<script>window.__pwned = 1; alert(1)</script><img src=x onerror="window.__pwned = 2">'
LINK = "[点击领奖](http://evil.test/prize)"
NOTICE = f"""网络安全通报

（2017 年 3 月 5 日）

一、事件概况
本月全市共发生网络攻击 3 起，均已处置。

二、可疑留言
有人在政务网站留言板写入{ATTACK}，并附上{LINK}的链接，留言已删除。
"""
BRIEF = """# 信息化建设简报

2018年6月1日

## 一、政务云
全市已有 42 个部门的业务系统迁移上云。

## 二、数据共享
全市共享数据目录已达 1200 项。
"""


@pytest.fixture(scope="module")
def library_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("library")


@pytest.fixture(scope="module")
def library(assistant, library_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server over a corpus of two documents written here: a notice quoting markup, and a brief."""
    corpus = library_corpus
    (corpus / "notice.txt").write_text(NOTICE, encoding="utf-8")
    (corpus / "brief.md").write_text(BRIEF, encoding="utf-8")
    settings = assistant.settings.with_(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("library-index"))
    with serving(Assistant(settings, embedder=assistant.embedder), corpus_dir=corpus) as (url, _):
        yield url


def _assert_inert(page: Page) -> None:
    page.page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert page.dialogs == []
    assert page.page.evaluate("window.__pwned") is None
    assert page.page.locator("img[src='x'], script:has-text('__pwned')").count() == 0
    assert page.page.locator("a[href*='evil.test']").count() == 0


@pytest.mark.browser
def test_browser_page_follows_its_corpus(browser, library: str):
    page = Page(browser, library)
    try:
        header = page.page.locator(".qa-header")
        assert header.locator("h1").inner_text() == "2 份文档问答"
        assert "《网络安全通报》" in header.inner_text() and "《信息化建设简报》" in header.inner_text()
        assert page.page.get_by_text("关于“事件概况”，文中是怎么说的？", exact=True).is_visible()
        page.page.get_by_text("文档", exact=True).click()
        docs = page.page.locator(".qa-docs")
        docs.wait_for()
        assert "2017 年 3 月 5 日" in docs.inner_text() and "2018 年 6 月 1 日" in docs.inner_text()
        reply = page.ask("全市有多少个部门的业务系统迁移上云？")
        assert "42" in reply.locator(".qa-text").inner_text()
        reply.locator("details.qa-sources summary").click()
        head = reply.locator(".qa-source-head").first
        assert "《信息化建设简报》" in head.inner_text() and "一、政务云" in head.inner_text()
        assert page.outside == []
    finally:
        page.close()


@pytest.mark.browser
def test_browser_page_takes_the_corpus_settings_file_on_the_next_load(browser, library: str, library_corpus: Path):
    settings_file = library_corpus / ".assistant.toml"
    settings_file.write_text('title = "信息化<b>文件</b>问答"\nexamples = ["全市共享数据目录有多少项？"]\n', "utf-8")
    try:
        page = Page(browser, library)
        try:
            page.page.get_by_text("全市共享数据目录有多少项？", exact=True).wait_for()
            assert page.page.locator(".qa-header h1").inner_text() == "信息化<b>文件</b>问答"
            assert page.page.get_by_text("关于“事件概况”，文中是怎么说的？", exact=True).count() == 0
        finally:
            page.close()
    finally:
        settings_file.unlink()


@pytest.mark.browser
def test_browser_shows_markup_in_a_passage_and_in_a_question_as_text(browser, library: str):
    page = Page(browser, library)
    try:
        reply = page.ask("政务网站留言板里写入了什么？")
        reply.locator("details summary").first.click()
        quote = reply.locator(".qa-quote").first
        quote.wait_for()
        shown = reply.inner_text()
        assert "<script>window.__pwned = 1; alert(1)</script>" in shown and LINK in shown
        _assert_inert(page)

        question = ATTACK.replace("= 1", "= 3").replace("= 2", "= 4") + "[点我](http://evil.test/q)"
        page.ask(question)
        assert page.page.get_by_test_id("user").nth(1).inner_text().strip() == question
        _assert_inert(page)
        assert page.outside == []
    finally:
        page.close()


def test_login_is_required_when_username_and_password_are_set(assistant):
    with serving(assistant, username="reader", password="s3cret") as (url, _):
        with pytest.raises(Exception):  # noqa: B017  (gradio_client raises different errors across versions)
            Client(url, verbose=False).predict(STAFF, api_name="/ask")
        assert httpx.get(url + "monitoring").status_code in (401, 403, 404)
        result = Client(url, auth=("reader", "s3cret"), verbose=False).predict(STAFF, api_name="/ask")
        assert "11" in result["answer"]


# --- bounded work: history, answerers, the queue and the time limit --------------------------------


def test_history_bomb_is_refused_at_once(client: Client, server: str):
    # One 2,000,000-character turn once kept a CPU busy for over ten minutes.
    for bomb in ("问" * 2_000_000, "a" * 2_000_000):
        t0 = time.monotonic()
        with pytest.raises(Exception) as refused:  # noqa: B017  (413 before the body is read)
            client.predict(STAFF, 5, [bomb], api_name="/ask")
        assert time.monotonic() - t0 < 10  # generous: measured in benchmarks/web_limits.py
        assert "413" in str(refused.value) or "太大" in str(refused.value)
    # The same through the plain HTTP API, with what the server says.
    response = httpx.post(server + "gradio_api/call/ask", json={"data": [STAFF, 5, ["问" * 2_000_000]]}, timeout=30)
    assert response.status_code == 413 and "请求太大" in response.json()["detail"]


def test_history_is_checked_turn_by_turn(client: Client, assistant):
    settings = assistant.settings
    with pytest.raises(AppError, match=f"history 最多 {settings.max_history_turns} 个问题"):
        client.predict(STAFF, 5, [STAFF] * (settings.max_history_turns + 1), api_name="/ask")
    too_long = "问" * (2 * settings.max_question_chars + 1)
    with pytest.raises(AppError, match="history 第 2 个问题太长"):
        client.predict(STAFF, 5, [STAFF, too_long], api_name="/ask")
    with pytest.raises(AppError, match="history 应为此前问题"):
        client.predict(STAFF, 5, [STAFF, 3], api_name="/ask")
    assert client.predict(STAFF, 5, [STAFF] * settings.max_history_turns, api_name="/ask")["found"] is True


def test_answerers_web_users_may_choose_are_a_setting(client: Client, server: str, assistant):
    with pytest.raises(AppError, match="answerer 应为 extractive"):
        client.predict(STAFF, 5, [], "llm", api_name="/ask")
    # Nothing of the model server reaches the page or the API description.
    for path in ("", "config", "gradio_api/info"):
        text = httpx.get(server + path).text
        assert assistant.settings.llm_url not in text and "8088" not in text, path


def test_llm_errors_never_show_the_server_address(assistant):
    url = "http://127.0.0.1:notaport/v1"  # makes the client's error name the address
    with serving(assistant, web_answerers=("extractive", "llm"), llm_url=url) as (server, _):
        result = Client(server, verbose=False).predict(STAFF, 5, [], "llm", api_name="/ask")
    assert result["answerer"] == "extractive" and "11" in result["answer"]  # the fallback
    assert result["note"] and "notaport" not in result["note"] and "127.0.0.1" not in result["note"]
    assert "语言模型服务" in result["note"]


class StalledServer:
    """A real TCP server that accepts connections and never answers: a model server that hangs."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.connections.append(self.sock.accept()[0])

    def close(self) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


def test_full_queue_gets_a_polite_busy_and_slow_answers_a_time_limit(assistant):
    stalled = StalledServer()
    limits = {"web_answerers": ("extractive", "llm"), "llm_url": stalled.url, "queue_size": 0, "request_timeout": 3}
    try:
        with serving(assistant, **limits) as (url, demo), ThreadPoolExecutor(max_workers=web.CONCURRENCY) as pool:

            def ask(answerer: str) -> tuple[str, float]:
                t0 = time.monotonic()
                try:
                    Client(url, verbose=False).predict(STAFF, 5, [], answerer, api_name="/ask")
                    return "answered", time.monotonic() - t0
                except AppError as exc:
                    return str(exc), time.monotonic() - t0

            hung = [pool.submit(ask, "llm") for _ in range(web.CONCURRENCY)]
            deadline = time.monotonic() + 30
            while len(stalled.connections) < web.CONCURRENCY and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(stalled.connections) == web.CONCURRENCY  # every worker waits for the hung server
            message, seconds = ask("extractive")
            assert message == web.BUSY and seconds < 10  # at once, not after the others
            for future in hung:
                message, seconds = future.result(timeout=60)
                assert message == web.TIMED_OUT and 3 <= seconds < 20
            stalled.close()  # the late work ends; the workers are free again
            deadline = time.monotonic() + 30
            while demo.gate.pending and time.monotonic() < deadline:
                time.sleep(0.05)
            assert ask("extractive")[0] == "answered"
    finally:
        stalled.close()
