"""The optional language-model answerer: rewrites the retrieved passages into a short answer.

It talks to any OpenAI-compatible `/v1/chat/completions` server (llama.cpp, Ollama,
vLLM, hosted Qwen/DeepSeek APIs) and streams. It only ever improves on the extractive
answer it is given: retrieval decides whether the report answers the question, the
numbered sources stay exactly the same, every sentence must be traceable to a source,
and any failure of the model or its server falls back to the extractive answer with a
one-line note instead of an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import httpx
import numpy as np

from assistant.config import Settings
from assistant.schema import Answer, Hit, Passage, Source

__all__ = [
    "NOTE_REFUSED",
    "NOTE_UNGROUNDED",
    "NOTE_UNSUPPORTED",
    "REFUSAL",
    "UNSUPPORTED",
    "LLMError",
    "build_messages",
    "check_server",
    "generate",
    "ground",
    "is_refusal",
    "split_sentences",
    "stream_chat",
    "warm_up_messages",
]

Encode = Callable[[list[str]], np.ndarray]

REFUSAL = "资料中没有找到答案。"
UNSUPPORTED = "[?]"  # appended to a sentence that no source supports
MAX_TOKENS = 300  # answers are meant to be a few sentences
PROMPT_CHARS = 2400  # passage text sent at most: the local server's n_ctx is 2048 tokens
# A sentence counts as supported by a source when its cosine with one of the source's
# sentences reaches this (L2-normalised embeddings; measured with multilingual-e5-small,
# which scores unrelated Chinese sentences up to ~0.88 and paraphrases 0.93-0.97) ...
MIN_COSINE = 0.92
# ... or when this share of its character bigrams occurs in the source passage;
# and in either case only when every number it states occurs in that source.
MIN_OVERLAP = 0.5
MIN_CLAIM_CHARS = 4  # shorter sentences ("是的。") state nothing that needs a source

NOTE_UNSUPPORTED = "语言模型生成的回答；标有 [?] 的句子在来源中找不到依据，请核对。"
NOTE_UNGROUNDED = "语言模型的回答在来源中找不到依据，以下为摘录式回答。"
NOTE_REFUSED = "语言模型未能从检索到的资料中作答，以下为摘录式回答。"
_FALLBACK = "，以下为摘录式回答。"

SYSTEM_PROMPT = (
    "你是一个严谨的问答助手，只能根据用户给出的编号资料回答问题，不得使用资料以外的任何知识，不得编造。\n"
    "要求：\n"
    "1. 用一到三句简短的中文直接回答问题。\n"
    "2. 每句话末尾用 [编号] 注明依据的资料，例如 [1] 或 [2][3]。\n"
    f"3. 如果资料中没有问题的答案，只回答：{REFUSAL}"
)

# A made-up example (not from the report), so that the model sees the format, the
# citations and the refusal once before the real question.
_EXAMPLE_SOURCES = (
    "[1]（二、工作情况 › 3.文化服务）\n某县图书馆现有藏书 8 万册，每周开放 6 天。\n\n"
    "[2]（二、工作情况 › 4.队伍建设）\n县文化馆目前有工作人员 9 人，其中专业技术人员 5 人。\n\n"
    "[3]（三、下一步工作）\n明年计划新建乡镇文化站 3 个。"
)
FEW_SHOT = (
    (f"资料：\n{_EXAMPLE_SOURCES}\n\n问题：县文化馆有多少工作人员？", "县文化馆目前有工作人员9人[2]。"),
    (f"资料：\n{_EXAMPLE_SOURCES}\n\n问题：县图书馆的馆长是谁？", REFUSAL),
    (
        f"资料：\n{_EXAMPLE_SOURCES}\n\n问题：图书馆的情况和明年的计划是什么？",
        "县图书馆现有藏书8万册，每周开放6天[1]。明年计划新建乡镇文化站3个[3]。",
    ),
)


class LLMError(Exception):
    """The model server failed; `note` is the one-line Chinese explanation for the user."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


# --- the answerer -----------------------------------------------------------------------------


def generate(answer: Answer, settings: Settings, encode: Encode | None = None) -> Iterator[Answer]:
    """Stream an LLM answer grounded in `answer.sources`: partial Answers, then the final one.

    `encode` embeds texts into L2-normalised rows (one model for answer and source
    sentences alike); without it, support is judged by character overlap.
    """
    if not answer.found or not answer.sources:
        yield answer  # retrieval decided the report does not answer: the model must not guess
        return
    text = ""
    try:
        for piece in stream_chat(build_messages(answer), settings):
            text += piece
            if piece and not _could_be_refusal(text):  # do not flash a refusal that is then replaced
                yield replace(answer, text=text, answerer="llm", note="")
    except LLMError as exc:
        yield replace(answer, note=exc.note)
        return
    yield _final(answer, text, encode)


def _final(answer: Answer, text: str, encode: Encode | None) -> Answer:
    if not text.strip():
        return replace(answer, note="语言模型返回了空回答" + _FALLBACK)
    if is_refusal(text):
        return replace(answer, note=NOTE_REFUSED)
    grounded, flagged = ground(text, answer.sources, encode)
    if not _MARKER.search(grounded):  # not one sentence traceable to a source: nothing worth showing
        return replace(answer, note=NOTE_UNGROUNDED)
    return replace(answer, text=grounded, answerer="llm", note=NOTE_UNSUPPORTED if flagged else "")


def build_messages(answer: Answer) -> list[dict[str, str]]:
    """System rules, the few-shot turns, then the real numbered passages and question.

    The fixed part comes first so that a server with a prompt cache (llama.cpp) reuses it.
    """
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for question, reply in FEW_SHOT:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]
    question = answer.resolved_question or answer.question
    messages.append({"role": "user", "content": f"资料：\n{_format_sources(answer.sources)}\n\n问题：{question}"})
    return messages


def warm_up_messages() -> list[dict[str, str]]:
    """A request sharing every prompt's fixed start, for servers that cache the evaluated prefix."""
    passage = Passage(id="warm-up", doc="", section=(), text="（空）", start=0, end=0)
    return build_messages(Answer(question="？", found=True, text="", sources=(Source(1, Hit(passage, 0.0)),)))


def _format_sources(sources: Sequence[Source]) -> str:
    blocks: list[str] = []
    budget = PROMPT_CHARS
    for source in sources:  # in rank order: the best sources get the room
        passage = source.hit.passage
        text = re.sub(r"\s+", " ", passage.text).strip()[:budget]
        if not text:
            break
        heading = f"（{passage.section_path}）\n" if passage.section else ""
        blocks.append(f"[{source.rank}]{heading}{text}")
        budget -= len(text)
    return "\n\n".join(blocks)


# --- the server -------------------------------------------------------------------------------


def stream_chat(messages: list[dict[str, str]], settings: Settings) -> Iterator[str]:
    """Yield the reply's text pieces from a streaming chat completion; failures raise LLMError.

    `settings.llm_timeout` bounds connecting, the wait for the first piece (the server reads
    the prompt first) and any pause between pieces, not the whole reply: a reply that keeps
    streaming is worth waiting for, and MAX_TOKENS bounds its length.
    """
    body = {
        "model": settings.llm_model,
        "messages": messages,
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
        "stream": True,
    }
    url = settings.llm_url.rstrip("/") + "/chat/completions"
    try:
        with (
            httpx.Client(timeout=_timeout(settings), headers=_headers(settings)) as client,
            client.stream("POST", url, json=body) as response,
        ):
            if response.status_code >= 400:
                response.read()
                raise LLMError(f"语言模型服务出错（HTTP {response.status_code}{_detail(response)}）{_FALLBACK}")
            if "application/json" in response.headers.get("content-type", ""):
                # A server that ignores "stream" sends one complete reply.
                yield _parse_sse("data: " + response.read().decode("utf-8", "replace")) or ""
                return
            for line in response.iter_lines():
                piece = _parse_sse(line)
                if piece is None:  # [DONE]; a stream that just ends is accepted too
                    return
                yield piece
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise LLMError(_transport_note(exc, settings)) from exc


def _parse_sse(line: str) -> str | None:
    """The text in one SSE line: "" for lines without any, None at the end of the stream."""
    line = line.strip()
    if not line.startswith("data:"):
        return ""  # blank separators, comments (": ping"), "event:" lines
    payload = line[5:].strip()
    if payload == "[DONE]":
        return None
    try:
        data = json.loads(payload)
        if "error" in data:
            raise LLMError(f"语言模型服务出错（{_one_line(str(data['error']))}）{_FALLBACK}")
        choice = data["choices"][0] if data["choices"] else {}
        content = (choice.get("delta") or choice.get("message") or {}).get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise LLMError("语言模型回复格式异常" + _FALLBACK) from None
    if content is not None and not isinstance(content, str):
        raise LLMError("语言模型回复格式异常" + _FALLBACK)
    return content or ""


def check_server(settings: Settings) -> str | None:
    """None when the server answers and offers `settings.llm_model`, else what is wrong (one line)."""
    url = settings.llm_url.rstrip("/") + "/models"
    try:
        response = httpx.get(url, timeout=min(settings.llm_timeout, 5.0), headers=_headers(settings))
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _transport_note(exc, settings).removesuffix(_FALLBACK)
    if response.status_code == 404:
        return None  # reachable; some servers simply do not list their models
    if response.status_code >= 400:
        return f"语言模型服务出错（HTTP {response.status_code}{_detail(response)}）"
    try:
        names = [m["id"] for m in response.json()["data"]]
    except (ValueError, KeyError, TypeError):
        return f"{url} 的回复不是 OpenAI 兼容的模型列表"
    if names and settings.llm_model not in names:
        return f"语言模型服务没有模型 {settings.llm_model}（可用：{', '.join(names[:5])}）"
    return None


def _timeout(settings: Settings) -> httpx.Timeout:
    # Connecting should be quick even when answering is slow.
    return httpx.Timeout(settings.llm_timeout, connect=min(settings.llm_timeout, 10.0))


def _headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}


def _transport_note(exc: Exception, settings: Settings) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"语言模型服务超时（{settings.llm_timeout:g} 秒）{_FALLBACK}"
    if isinstance(exc, httpx.ConnectError):
        reason = "连接被拒绝" if "refused" in str(exc).lower() else f"无法连接 {settings.llm_url}"
        return f"语言模型服务不可用（{reason}）{_FALLBACK}"
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return f"语言模型地址无效（{settings.llm_url}）{_FALLBACK}"
    return f"语言模型连接中断（{type(exc).__name__}）{_FALLBACK}"


def _detail(response: httpx.Response) -> str:
    """A short reason from an error body, e.g. llama.cpp's context-length message."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError, httpx.ResponseNotRead):
        return ""
    return f"：{_one_line(str(message))[:80]}" if message else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- grounding --------------------------------------------------------------------------------

_MARKER = re.compile(r"\[(\d+)\]")
_ANY_MARKER = re.compile(r"\s*\[(?:\d+|\?)\]")
_SENTENCE = re.compile(r".*?(?:[。！？!?；;]+[”’」』）)]*(?:\s*\[(?:\d+|\?)\])*|\n+|$)", re.S)
_MARKER_LIST = re.compile(r"\[\s*(\d+(?:\s*[,，、]\s*\d+)+)\s*\]")
_NOT_CONTENT = re.compile(r"[\s\W_]+")


def ground(text: str, sources: Sequence[Source], encode: Encode | None = None) -> tuple[str, bool]:
    """Fix the model's citations; return the text and whether a sentence was flagged.

    Markers that name no source are dropped. A sentence without a valid marker gets the
    marker of the source that supports it best, when one does clearly enough; otherwise
    it is marked UNSUPPORTED.
    """
    by_rank = {s.rank: s for s in sources}
    sentences = [_clean_markers(s, by_rank) for s in split_sentences(_normalise_markers(text))]
    needy = [i for i, s in enumerate(sentences) if not _MARKER.search(s) and len(_content(s)) >= MIN_CLAIM_CHARS]
    support = _best_sources([_strip_markers(sentences[i]) for i in needy], sources, encode)
    flagged = False
    for i, rank in zip(needy, support, strict=True):
        flagged |= rank is None
        sentences[i] = _add_marker(sentences[i], f"[{rank}]" if rank is not None else UNSUPPORTED)
    return "".join(sentences).strip(), flagged


def split_sentences(text: str) -> list[str]:
    """Sentences with their end punctuation, closing quotes and trailing markers; joined they give `text`."""
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)]


def is_refusal(text: str) -> bool:
    """The model said the passages do not answer (starts with the refusal, or says little else)."""
    said = _content(_strip_markers(text))
    refusal = _content(REFUSAL)
    return said.startswith(refusal) or (refusal in said and len(said) < 2 * len(refusal))


def _could_be_refusal(text: str) -> bool:
    said = _content(_strip_markers(text))
    return _content(REFUSAL).startswith(said)


def _normalise_markers(text: str) -> str:
    """【1】, [1, 2] and [1，2] become [1], [1][2]; the model's own [?] is not ours to keep."""
    text = re.sub(r"【\s*(\d+)\s*】", r"[\1]", text)
    text = _MARKER_LIST.sub(lambda m: "".join(f"[{n}]" for n in re.findall(r"\d+", m[1])), text)
    return text.replace(UNSUPPORTED, "")


def _clean_markers(sentence: str, by_rank: dict[int, Source]) -> str:
    """Drop markers naming no source; drop all when the cited sources lack a number the sentence states."""
    sentence = _MARKER.sub(lambda m: m[0] if int(m[1]) in by_rank else "", sentence)
    cited = [by_rank[int(n)].hit.passage.text for n in _MARKER.findall(sentence)]
    if cited and not _numbers(_strip_markers(sentence)) <= _numbers(" ".join(cited)):
        return _strip_markers(sentence)  # a figure the model made up, or took from elsewhere
    return sentence


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", re.sub(r"(?<=\d),(?=\d{3})", "", text)))  # 1,600 is 1600


def _strip_markers(text: str) -> str:
    return _ANY_MARKER.sub("", text)


def _content(text: str) -> str:
    return _NOT_CONTENT.sub("", text).lower()


def _add_marker(sentence: str, marker: str) -> str:
    """Before the end punctuation, as the model is asked to write them: "…11人[1]。"."""
    core = sentence.rstrip()
    tail = sentence[len(core) :]
    end = re.search(r"[。！？!?；;”’」』）)]*$", core)
    cut = end.start() if end else len(core)
    return f"{core[:cut]}{marker}{core[cut:]}{tail}"


def _best_sources(claims: list[str], sources: Sequence[Source], encode: Encode | None) -> list[int | None]:
    """For each claim, the rank of the source that supports it, or None."""
    if not claims:
        return []
    texts = [s.hit.passage.text for s in sources]
    overlap = np.array([[_overlap(c, t) for t in texts] for c in claims])
    supported = overlap >= MIN_OVERLAP
    score = overlap
    if encode is not None:
        cosine = _cosines(claims, sources, encode)
        supported |= cosine >= MIN_COSINE
        score = cosine
    supported &= np.array([[_numbers(c) <= _numbers(t) for t in texts] for c in claims])
    best = np.where(supported, score, -np.inf).argmax(axis=1)
    return [sources[j].rank if supported[i, j] else None for i, j in enumerate(best)]


def _cosines(claims: list[str], sources: Sequence[Source], encode: Encode) -> np.ndarray:
    """claims × sources: the best cosine between a claim and any sentence of the source."""
    owners: list[int] = []
    pieces: list[str] = []
    for j, source in enumerate(sources):
        for sentence in split_sentences(source.hit.passage.text):
            if _content(sentence):
                owners.append(j)
                pieces.append(sentence.strip())
    if not pieces:
        return np.zeros((len(claims), len(sources)))
    vectors = np.asarray(encode(claims + pieces), dtype=np.float32)
    sims = vectors[: len(claims)] @ vectors[len(claims) :].T
    best = np.full((len(claims), len(sources)), -1.0)
    for k, j in enumerate(owners):
        best[:, j] = np.maximum(best[:, j], sims[:, k])
    return best


def _overlap(claim: str, passage: str) -> float:
    """Share of the claim's character bigrams found in the passage (spacing and punctuation ignored)."""
    grams = _bigrams(_content(claim))
    return len(grams & _bigrams(_content(passage))) / len(grams) if grams else 0.0


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}
