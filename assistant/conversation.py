"""Follow-up questions read in the light of the conversation so far.

A conversation is a list of `Turn`s: what was asked, and the `Answer` given (its resolved
question, its text, the passages it quoted). `resolve()` turns a follow-up into a question that
stands on its own, the way a colleague hears it:

- `那X呢？` / `X呢？` asks the previous question again about X: X takes the place of the part of
  the previous question most like it (`三类的呢？` after `…几家国家一类新闻网站？` → `…三类新闻网站`),
  and the answer must mention X (`那信息化办呢？` is not answered with the 网信办's staff);
- a pronoun (它, 他, 这些, 其中, 该…) stands for the previous question's subject
  (`那它的官方微信呢？` → `“精彩洛阳”的官方微信…`);
- an ordinal (`第二点`, `第一个方面`) points into the list the previous answer gave, or began;
- a short question without a subject of its own (`为什么？`, `是哪家网站评的？`, `给哪些人颁发？`)
  is asked about the previous question, and the passages the previous answer quoted, with the
  ones that follow them, are read too (the answer to "为什么" or "第二点" is often right there).

A follow-up that cannot be understood (an ordinal when no list was given, a pronoun with nothing
before it) is not guessed at: `Resolution.unclear` says why, and the assistant asks back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.question import analyse
from assistant.schema import Answer
from assistant.text.words import content_words, normalize

__all__ = ["Turn", "Resolution", "ListedItem", "resolve", "list_items", "ORDINALS"]


@dataclass(frozen=True)
class Turn:
    asked: str  # as typed
    answer: Answer  # its resolved_question is the question as understood


@dataclass(frozen=True)
class Resolution:
    text: str  # the question as understood, standing on its own (shown to the user when it differs)
    focus: tuple[str, ...] = ()  # what the answer must mention (那X呢 → X)
    near: tuple[str, ...] = ()  # ids of passages to read besides the retrieved ones
    unclear: str = ""  # why the follow-up cannot be understood ("" when it can)
    item: ListedItem | None = (
        None  # the item of a list an ordinal points to (第三点, 最后一项): answered by expanding it
    )


@dataclass(frozen=True)
class ListedItem:
    """An item of the list a previous answer gave or quoted from: its lead and where it is written."""

    number: int
    lead: str
    passage: str  # passage id
    start: int  # offset of the lead in that passage's text


ORDINALS = "一二三四五六七八九十"
_ORDINAL = re.compile(rf"第\s*([{ORDINALS}]|\d+)\s*(?:个?方面|个?部分|点|条|项|是|种|类|个)?")
# The last item (最后一项/最后一点), and asking to hear more of one (具体说说第三点, 展开讲讲第二条).
_LAST = re.compile(r"最后(?:一)?(?:个方面|个部分|点|条|项|个)")
_EXPAND = re.compile(r"^(?:请)?(?:具体|详细|展开|再)?(?:说说|讲讲|谈谈|介绍一下|说一下|讲一下|展开说|展开讲)?")
# An ordinal inside a noun (第二批示范企业, 第三届, 第七次会议) names a thing, not a point of a list.
_NOUN_ORDINAL = re.compile(rf"第\s*(?:[{ORDINALS}百]+|\d+)\s*[批届次期轮季章节代任号版册卷集轴阶]")
_ELLIPSIS = re.compile(
    r"^(?:那么?|还有|那个|and|what about)?\s*(?P<other>.+?)\s*(?:呢|怎么样|如何|的情况呢)\s*[？?]?$", re.I
)
# A pronoun stands for the previous question's subject (它的官方微信); a demonstrative with a noun (这种模式,
# 该项工作) names a thing the previous answer spoke of, and is read with the previous question.
_PRONOUN = re.compile(r"它们|他们|她们|它|他|她|其(?![中他余实次])")
_DEMONSTRATIVE = re.compile(r"这[种个些项类样次]|那[种个些项类样次]|该|此|上述|以上|这|那(?!么)")
_FOLLOWUP_START = re.compile(
    r"^(?:那|那么|还有|另外|此外|其中|为什么|为何|怎么|如何|具体|是|给|由|在|管|和|与|and|why|how)", re.I
)
# What a list is of, in a report's words: 那成效呢 after 有哪些问题 asks for the other list.
_LIST_NOUN = re.compile(
    r"成效|成绩|成果|进展|问题|不足|困难|措施|举措|做法|办法|经验|要求|任务|建议|意见|计划|目标|职责|分工|亮点|特点|风险"
)
_MODIFIER = re.compile(r"(?:的|时候|时|期间|以后|之后|以前|之前)$")  # 三类的, 最多的时候: narrows, names nothing new
_CONTINUES = re.compile(r"^(?:其中|那么?|还有|另外|此外|and\b|what about)", re.I)  # never the start of a new topic
_SHORT = 10  # characters (punctuation aside): a question this short rarely names its own subject
# Enumerations in a list answer: 一是…二是…, 第一，…第二，…, （一）…（二）…, 1.…2.…
_ITEM_MARKS = (
    re.compile(rf"(?P<n>[{ORDINALS}])是"),
    re.compile(rf"第(?P<n>[{ORDINALS}])[，,、：:]"),
    re.compile(rf"[（(](?P<n>[{ORDINALS}])[）)]"),
    re.compile(r"(?<!\d)(?P<n>\d{1,2})[.、．](?!\d)"),
)


def _number(token: str) -> int:
    return int(token) if token.isdigit() else ORDINALS.index(token) + 1


def list_items(text: str) -> dict[int, str]:
    """The numbered items of an enumeration in `text` (一是…二是…, （一）…（二）…), by number.

    Items are taken in order 1, 2, 3 … (a heading repeated before its paragraph is one item); each runs
    to the next item.
    """
    for mark in _ITEM_MARKS:
        starts: list[tuple[int, int]] = []
        for m in mark.finditer(text):
            if _number(m["n"]) == len(starts) + 1:
                starts.append((m.start(), len(starts) + 1))
        if len(starts) >= 2:
            ends = [start for start, _ in starts[1:]] + [len(text)]
            return {n: text[start:end].strip(" ，,；;。\n") for (start, n), end in zip(starts, ends, strict=True)}
    return {}


def resolve(
    question: str, turns: Sequence[Turn], following: Sequence[str] = (), items: Sequence[ListedItem] = ()
) -> Resolution:
    """What `question` asks, given the conversation so far (`turns`, oldest first).

    `following` is the text that comes after the previous answer in its document (the rest of
    the quoted passage and the next ones), where a list the answer began goes on. `items` is the list the
    previous answer gave, or the list its quoted sentence belongs to (from the document's structure): an
    ordinal (第三点, 最后一项, 具体说说第二条) points into it.
    """
    q = question.strip()
    if not turns:
        ordinal = _ORDINAL.search(q)
        if ordinal and _is_short(q) and not _NOUN_ORDINAL.match(q, ordinal.start()):
            return Resolution(q, unclear=f"这是第一个问题，“{ordinal.group(0)}”指的是哪一点？请把问题说完整。")
        return Resolution(q)
    previous = turns[-1].answer
    # (after an item was expanded, 其中第三点“…”具体是什么: later follow-ups are of the list asked for)
    before = (previous.resolved_question or previous.question).strip().split("？其中第")[0]
    stem = before.rstrip("？?。！! ")
    near = tuple(s.hit.passage.id for s in previous.sources if s.used)

    pointed = _pointed(q, items)
    if pointed is not None:
        if isinstance(pointed, str):
            return Resolution(q, unclear=pointed)
        rest = _ORDINAL.sub("", _LAST.sub("", _EXPAND.sub("", q, count=1))).strip(" ，,？?。呢") or "具体是什么"
        stem = stem.split("？其中第")[0]  # 第三点呢 then 第五点呢: both of the list asked for
        return Resolution(f"{stem}？其中第{_cn(pointed.number)}点“{pointed.lead}”{rest}？", (), near, item=pointed)

    ordinal = _ORDINAL.search(q)
    if ordinal and _is_short(q, limit=14):
        items = list_items(f"{previous.text}\n" + "\n".join(following))
        n = _number(ordinal.group(1))
        if n not in items:
            what = "上一个回答没有分点列出" if not items else f"上一个回答只列出了 {len(items)} 点"
            return Resolution(q, unclear=f"{what}，“{ordinal.group(0)}”指的是什么？请把问题说完整。")
        head = re.split(r"[，,；;。：:]", items[n])[0]
        head = re.sub(rf"^(?:[{ORDINALS}]是|第[{ORDINALS}]|[（(][{ORDINALS}][）)]|\d{{1,2}}[.、．])", "", head).strip()
        rest = q[ordinal.end() :].strip(" ，,") or "是什么？"
        return Resolution(f"{stem}？其中第{ORDINALS[n - 1] if n <= 10 else n}点“{head}”{rest}", (head,), near)

    own = analyse(q)
    if not (_is_short(q) or own.specific == () or _PRONOUN.search(q) or _DEMONSTRATIVE.match(q) or _CONTINUES.match(q)):
        return Resolution(q)  # names its own subject: it stands alone

    subject = _subject(before)
    about = _ELLIPSIS.match(q)
    if about and about["other"] and not re.fullmatch(r"(?:为什么|为何|具体|怎么|如何)", about["other"]):
        other = _replace_pronoun(about["other"].strip(), subject)
        focus = tuple(w for w in content_words(other) if w not in normalize(before)) or (other,)
        asked_list = _LIST_NOUN.findall(before)
        if _LIST_NOUN.fullmatch(other) and asked_list and other not in before:
            # 那成效呢 after 存在哪些问题: the same document, the other list (the slot asked is what changes).
            at = before.rfind(asked_list[-1])
            return Resolution(before[:at] + other + before[at + len(asked_list[-1]) :], (), near)
        if _MODIFIER.search(other):
            # 那腾讯的呢 after 新浪官方微博…: one name in place of the other, of the same kind.
            if named := _put_name(before, _MODIFIER.sub("", other)):
                return Resolution(named, focus, near)
            # 三类的呢 / 最多的时候呢: the same question, narrowed: in place of its like part, or added to it.
            return Resolution(_put_in_place(before, other) or f"{stem}，{other}呢？", focus, near)
        # 那信息化办呢 / 那它的官方微信呢: the same question about something else, in place of its subject.
        start = before.find(subject) if subject else -1
        if start >= 0:
            end = start + len(subject)
            # “精彩洛阳”官方微信… then 那新浪官方微博呢: the noun after the name (官方微信) is of the subject too
            predicate = _PREDICATE.search(before, end)
            rest = before[end : predicate.start()] if predicate else ""
            if rest and any(rest[i : i + 2] in other for i in range(len(rest) - 1)):
                end += len(rest)
            return Resolution(other + before[end:], focus, near)
        return Resolution(f"{stem}，{other}呢？", focus, near)

    if q.startswith("其中") or _DEMONSTRATIVE.search(q) or _is_short(q) and not _PRONOUN.search(q):
        return Resolution(f"{stem}？{q}", (), near)  # 其中有哪些…, 为什么？: of the previous one
    if _PRONOUN.search(q):
        if not subject:
            return Resolution(q, unclear="没看出“" + _PRONOUN.search(q).group(0) + "”指的是什么，请把问题说完整。")
        return Resolution(_replace_pronoun(q, subject), (), near)

    if _is_short(q) or _FOLLOWUP_START.match(q) or not own.specific:
        return Resolution(f"{stem}？{q}", (), near)
    return Resolution(q)


def _cn(n: int) -> str:
    return ORDINALS[n - 1] if 1 <= n <= 10 else str(n)


def _pointed(question: str, items: Sequence[ListedItem]) -> ListedItem | str | None:
    """The item an ordinal follow-up points to in `items`; a message when it points past the list; None when
    the question has no ordinal (or is not short: 第三次会议由谁主持 names its own subject) or no list is known."""
    if not items:
        return None
    last = _LAST.search(question)
    ordinal = _ORDINAL.search(question)
    if not (last or ordinal) or not _is_short(question, limit=16):
        return None
    measured = re.search(r"第\s*\S+?\s*(?:个?方面|个?部分|点|条|项|个)", question)
    if ordinal and not last and not measured and not _is_short(question, limit=6):
        return None  # 第三呢 alone is an ordinal; 第三次会议 is not
    n = len(items) if last else _number(ordinal.group(1))
    by_number = {item.number: item for item in items}
    if n not in by_number:
        return f"上一个回答列出了 {len(items)} 点，没有“{(last or ordinal).group(0)}”。请把问题说完整。"
    return by_number[n]


def _is_short(question: str, limit: int = _SHORT) -> bool:
    return len(re.sub(r"[\W_]", "", question)) <= limit


# Where a question's subject ends: at its verb or question word (中央…座谈会|是谁主持的, 市委网信办目前|有多少…).
_PREDICATE = re.compile(
    r"是|有|由|在|为|对|把|被|将|谁|什么|哪|多少|几|怎么|如何|为什么|主持|举办|召开|获得|取得|开展|发现|处置|"
    r"接收|收集|成立|提出|要求|强调|位于|属于|包括|担任|出生|下设|开设|推出|拥有|存在"
)


def _subject(question: str) -> str:
    """What a question is about, as written at its start: up to its first quoted or titled name
    (腾讯官方微博“精彩洛阳”), else up to its verb or question word (中央网络安全和信息化工作座谈会)."""
    quoted = re.search(r"^[^“《「]{0,12}(?:“[^”]+”|《[^》]+》|「[^」]+」)", question)
    if quoted:
        return quoted.group(0)
    m = _PREDICATE.search(question)
    subject = question[: m.start()] if m else ""
    return subject if len(re.sub(r"[\W_]", "", subject)) >= 2 else ""


def _replace_pronoun(text: str, subject: str) -> str:
    """The first pronoun of `text` replaced by the name in `subject` (它的官方微信 → “精彩洛阳”的官方微信)."""
    if not subject:
        return text
    name = re.search(r"“[^”]+”|《[^》]+》|「[^」]+」", subject)
    return _PRONOUN.sub((name.group(0) if name else subject).replace("\\", "\\\\"), text, count=1)


def _put_name(question: str, name: str) -> str:
    """The question with its first proper name of `name`'s kind (organisation, place, person) replaced by
    `name`; "" when `name` is no proper name or the question holds none of its kind."""
    from assistant.question import is_proper_name, proper_names

    kind = proper_names().get(name, "")[:2]
    if not kind or not is_proper_name(name) or name in question:
        return ""
    for word in content_words(question):
        if word != name and proper_names().get(word, "")[:2] == kind:
            return question.replace(word, name, 1)
    return ""


def _put_in_place(question: str, other: str) -> str:
    """The question with its part most like `other` replaced by it, or "" when no part is alike.

    Alike: they share a character run at the end (一类 ~ 三类的 by 类; 市委网信办 ~ 信息化办 by 办)
    — Chinese names and terms put their kind last.
    """
    core = re.sub(r"的$", "", other)
    if not core or core in question:
        return ""
    best, best_score = None, 0
    for m in re.finditer(r"[\u4e00-\u9fffA-Za-z0-9“”]+", question):
        span = m.group(0)
        for length in range(min(len(span), 8), 0, -1):
            for start in range(0, len(span) - length + 1):
                piece = span[start : start + length]
                score = _shared_tail(piece, core) / max(len(piece), len(core))
                if score > best_score:
                    best, best_score = (m.start() + start, m.start() + start + length), score
    if best is None or best_score < 0.3:
        return ""
    return question[: best[0]] + core + question[best[1] :]


def _shared_tail(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
