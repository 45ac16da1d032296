"""Answers shaped like the question: the items of a list, the document's outline, a summary, a reason.

The extractive answerer (`extractive.answer`) gives one sentence; for a question that asks for a list
(`哪些/哪几/几个方面`), measures (`采取了哪些措施`), the parts of the report (`分几部分`) or what it is
about (`主要讲了什么`), that sentence is usually the lead-in (`重点要抓好以下六个方面的工作`) or the first
item. `answer()` starts from that sentence and the passages read, and answers from the document's
structure instead (`ingest.structure`: headings' children, 一是/二是, 第一/第二, 首先/其次, bullets):

- **list / manner**: the list whose lead-in, headings and items cover the question best, preferring
  the one that holds the chosen sentence and the best retrieved passages — every item, each as its
  heading or lead phrase with its own citation (the full text is in the sources);
- **outline**: the title, date and top-level parts of the document asked about;
- **summary**: the outline, with each part's first sentence;
- **reason**: the chosen sentence, and the sentence before it when the chosen one states a request or a
  consequence without its cause (`人员较少，请求…增加编制` gives 人员较少): one that opens with 因此/所以, or
  one that only says again what the question asks the reason of (`此战奠定了…`).

When no list answers the question well enough, the fact answer stands. Completeness is a rule on
`expected_items` (see `confidence()`): a list whose lead-in announces six items and where six were
found is complete; four of six is partial, and the answer says so (`报告列出了六项，这里找到四项`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from assistant.answer.constraints import Scope, contradicted, scope_of
from assistant.answer.evidence import Reading
from assistant.conversation import ListedItem
from assistant.ingest.structure import Enumeration, ListItem, Outline, Place, enumerations, outline
from assistant.question import Question, analyse, asks_count, phrase_coverage
from assistant.schema import Answer, Hit, Item, Passage, Source, Span
from assistant.store.local import Index
from assistant.text.words import normalize

__all__ = ["Structure", "answer", "structure", "confidence", "expand", "list_of", "listed", "MATCH", "MATCH_UNSURE"]

# How well a list must answer the question (score of `_score`, see there): measured on eval/shapes.jsonl.
MATCH = 0.5
MATCH_UNSURE = 0.8  # when the extractive answerer found no answer, the list must match better still
CONTEXT_LEAST = 0.15  # share of the question's words a list's headings and lead-in must hold
ITEM_MOST = 0.3  # a question this much (and more than by the list's headings) covered by one item asks about it
SUMMARY_SENTENCE = 40  # characters of a part's first sentence shown in a summary
CN = "〇一二三四五六七八九十"


@dataclass(frozen=True)
class Structure:
    """One document's lists and outline, with the index numbers of its passages (places count within them)."""

    numbers: tuple[int, ...]
    lists: tuple[Enumeration, ...]
    outline: Outline


def structure(index: Index, doc: str) -> Structure:
    """The lists and outline of document `doc`, read from its passages once per index (about 1–2 ms each)."""
    cache = index.__dict__.setdefault("_shapes_structure", {})  # lives and dies with the index
    if doc not in cache:
        numbers = tuple(index.document_passages(doc))
        passages = [index.passages[n] for n in numbers]
        lists = enumerations(passages)
        cache[doc] = Structure(numbers, tuple(lists), outline(passages, lists))
    return cache[doc]


def confidence(found: int, expected: int | None) -> float:
    """The rule for a shaped answer's confidence: every announced item found (0.9), a list with no announced
    count (0.8: nothing says whether it is complete), some of the announced items (0.8 × the share found)."""
    if expected is None:
        return 0.8
    return 0.9 if found >= expected else round(0.8 * found / expected, 4)


def _cn(n: int) -> str:
    return CN[n] if 0 <= n <= 10 else str(n)


def answer(reading: Reading, index: Index, fact: Answer) -> Answer:
    """The answer in the question's shape, or `fact` (the extractive answer) when the shape is one fact,
    the question names what the corpus lacks, or no list answers it well enough."""
    q = reading.question
    if q.shape == "fact" or q.shape == "comparison" or fact.missing or not reading.hits:
        return fact
    if q.shape in ("outline", "summary"):
        return _outline_answer(reading, index, fact) or fact
    if q.shape == "reason":
        return _reason_answer(index, fact)
    listed = _list_answer(reading, index, fact)
    if listed is None or _breaks_constraints(listed, q, index):
        return fact
    return _unsaid(listed, q, index)


def _breaks_constraints(given: Answer, q: Question, index: Index) -> bool:
    """A list whose lead-in or headings state another value of what the question states (another year, level,
    meeting: 第五次 for 第三次) does not answer it, however well its items match (constraints.py, as for a sentence)."""
    if not q.constraints or not given.sources:
        return False
    passage = given.sources[0].hit.passage
    lead = given.text.split("\n", 1)[0]
    scope = scope_of(passage, index.document_text(passage.doc))
    return any(contradicted(c, lead, scope) for c in q.constraints)


def _other_document(o: Outline, q: Question) -> bool:
    """The outline of a report dated 2016 does not answer what "2015年的汇报" is made of: a year or an ordinal of the
    question that the document's title or date contradicts (constraints.py; levels aside: a title names the
    bodies whose meetings it reports, 省委 in a 市's report)."""
    scope = Scope(title=o.title, date=o.date or "")
    return any(c.kind in ("time", "ordinal") and contradicted(c, o.title, scope) for c in q.constraints)


UNSAID = 0.5  # a rare phrase of the question less covered than this in the answer's document: not answered there


def _unsaid(given: Answer, q: Question, index: Index) -> Answer:
    """A list asked about what the list's document never speaks of (哪些处罚标准, 校外培训机构的要求) is not
    answered by another list of it: "not found", naming what is missing. (Only for the lists made here: on a
    sentence answer, the answerability model decides; the same rule there refused right answers in the CMRC
    trial set, 实际功效 for 效, 就读于 for 就学于.)"""
    if q.shape != "list" or not given.found or not given.sources:
        return given
    text = index.document_text(given.sources[0].hit.passage.doc)
    # two-character words are left out: a report's words for 进展 (取得…成效, 显著增强) are many
    unsaid = [p for p in q.specific if len(p) >= 3 and phrase_coverage(p, text) < UNSAID]
    if not unsaid:
        return given
    names = "、".join(f"“{p}”" for p in unsaid)
    return replace(given, found=False, text=f"报告中没有找到这个问题的答案：报告没有提到{names}。", items=(),
                   shape="fact", expected_items=None, confidence=None)  # fmt: skip


# --- lists ---------------------------------------------------------------------------------------


# What a list is of, in a report's words (成效, 问题, 措施 …): the noun that tells the lists of a document apart.
LIST_NOUN = re.compile(
    r"成效|成绩|成果|进展|问题|不足|困难|措施|举措|做法|办法|经验|要求|任务|建议|意见|计划|目标|职责|分工|亮点|特点|风险"
)
_ASKING = re.compile(r"哪|几|什么|怎么|怎样|如何|多少")


def _covered(q: Question, text: str, index: Index) -> float:
    """Share of the question's content words (weighted by rarity) found in `text`, each by its character runs
    (不足之处 is half found in 仍存在不足; `evidence.coverage` wants whole words), or by a dictionary bridge."""
    t = normalize(text)
    total = got = 0.0
    for w in q.content:
        if _ASKING.search(w):
            continue  # 哪些方面, 几点: the question's own words
        weight = index.rarity(w)
        total += weight
        found = phrase_coverage(w, t) if len(w) > 1 else float(w in t)
        bridged = max((phrase_coverage(b, t) for b in q.bridges.get(w, ())), default=0.0) * 0.5
        got += weight * max(found, bridged)
    return got / total if total else 0.0


def _chosen(fact: Answer, index: Index) -> tuple[str, int, int, int] | None:
    """The sentence the extractive answer quoted: (document, index passage number, start, end)."""
    for source in fact.sources[:1]:
        if fact.found and source.used:
            p = source.hit.passage
            return p.doc, index.passage_number(p.id), source.used[0].start, source.used[0].end
    return None


def list_of(index: Index, passage: Passage, start: int, end: int) -> Enumeration | None:
    """The innermost list that text `start:end` of `passage` belongs to (as lead-in or within an item)."""
    s = structure(index, passage.doc)
    n = index.passage_number(passage.id)
    inside = [e for e in s.lists if s.numbers[e.first] <= n <= s.numbers[e.last] and e.kind != "heading"]
    inside += [e for e in s.lists if s.numbers[e.first] <= n <= s.numbers[e.last] and e.kind == "heading"]
    return min(inside, key=lambda e: e.last - e.first, default=None)


def _places(e: Enumeration) -> list[Place]:
    return ([e.lead_in_place] if e.lead_in_place else []) + [item.place for item in e.items]


def _context(e: Enumeration) -> str:
    """What a list is about: a heading list, its heading path and lead-in; a list in the text, the title, its
    nearest heading and the sentences before it (not the headings between: 二、2016年…情况 does not make 不足
    an achievement)."""
    if e.kind == "heading":
        return " ".join(e.section) + " " + e.lead_in
    return " ".join(dict.fromkeys(e.section[:1] + e.section[-1:])) + " " + e.parent


def _score(e: Enumeration, s: Structure, q: Question, index: Index, ranks: dict[int, int], chosen) -> float:
    """How well list `e` answers `q`: the question's words in its headings and lead-in (most), in its items,
    the chosen sentence inside it, and the rank of the best retrieved passage inside it; inner lists first."""
    context = _context(e)  # (the title in it tells documents apart)
    items = " ".join(item.lead for item in e.items)
    said = _covered(q, context, index)
    if said < CONTEXT_LEAST:
        return 0.0  # a list the question's words do not name is not what it asks for, however near
    if _item_asked(e, q, index) > said + 0.1:
        return 0.0  # the question names one item (正确的网络安全观包括什么): it asks about that item, not the list
    score = said + 0.3 * _covered(q, items, index)
    nouns = set(LIST_NOUN.findall(q.text))
    if nouns & set(LIST_NOUN.findall(context)):
        score += 0.25  # what the list is of, named by its heading or lead-in (存在的问题, 以下四个方面的成效)
    region = range(s.numbers[e.first], s.numbers[e.last] + 1)
    if chosen is not None and chosen[1] in region:
        on = any(s.numbers[p.passage] == chosen[1] and p.start < chosen[3] and chosen[2] < p.end for p in _places(e))
        score += 0.2 if on else 0.05
    elif chosen is not None:
        score -= 0.15  # the sentence the answerer found lies outside this list
    best = min((rank for n, rank in ranks.items() if n in region), default=None)
    if best is not None:
        score += 0.2 / (1 + best)
    return score - 0.005 * (e.last - e.first)


def _item_asked(e: Enumeration, q: Question, index: Index) -> float:
    """How much of the question one item's lead holds (0 below ITEM_MOST)."""
    best = max((_covered(q, item.lead, index) for item in e.items), default=0.0)
    return best if best >= ITEM_MOST else 0.0


def _list_answer(reading: Reading, index: Index, fact: Answer) -> Answer | None:
    q = reading.question
    ranks: dict[int, int] = {}
    for rank, hit in enumerate(reading.hits):
        ranks.setdefault(index.passage_number(hit.passage.id), rank)
    chosen = _chosen(fact, index)
    docs = list(dict.fromkeys(h.passage.doc for h in reading.hits[:5]))
    scored = []
    for doc in docs:
        s = structure(index, doc)
        # the top-level parts answer outline and summary questions, not lists (e.depth 1: under the title)
        scored += [(_score(e, s, q, index, ranks, chosen), e, s) for e in s.lists if e.depth > 1 or e.kind != "heading"]
    if not scored:
        return None
    score, best, s = max(scored, key=lambda t: t[0])
    if score < (MATCH if fact.found or asks_count(q.text) else MATCH_UNSURE):
        return None
    # An item of another list that names the question better than this list's headings do (网络安全观要怎么
    # 树立 → 第一，树立正确的网络安全观): the question is about that item, which the fact answer quotes.
    item = max((_item_asked(e, q, index) for _, e, _ in scored), default=0.0)
    if fact.found and item > _covered(q, _context(best), index) + 0.1:
        return None
    return shaped(fact, index, best, s, q, reading.hits)


def shaped(fact: Answer, index: Index, e: Enumeration, s: Structure, q: Question, hits=()) -> Answer:
    """List `e` as the answer: its lead-in, then its items, one a line, each cited."""
    sources: dict[int, list[Span]] = {}  # index passage number → spans quoted, in document order
    heading = _heading_place(e, s, index)
    for place in _places(e) + ([heading] if heading else []):
        sources.setdefault(s.numbers[place.passage], []).append(Span(place.start, place.end))
    order = sorted(sources)
    rank_of = {n: r for r, n in enumerate(order, 1)}
    by_id = {h.passage.id: h for h in hits}
    made = tuple(
        Source(rank_of[n], by_id.get(index.passages[n].id, Hit(index.passages[n], 0.0)), tuple(sources[n]))
        for n in order
    )
    items = tuple(
        Item(item.lead, rank_of[s.numbers[item.place.passage]], item.place.start, item.place.end) for item in e.items
    )
    lines = []
    count, expected = len(items), e.expected
    if e.lead_in_place is not None and len(e.lead_in) < 12 <= len(e.parent) <= 60 and e.parent.endswith(e.lead_in):
        lines.append(
            f"{e.parent.rstrip()}[{rank_of[s.numbers[e.lead_in_place.passage]]}]"
        )  # 仍存在不足。主要有以下几点：
    elif e.lead_in_place is not None:
        lines.append(f"{e.lead_in.rstrip()}[{rank_of[s.numbers[e.lead_in_place.passage]]}]")
    elif heading is not None:
        lines.append(f"{e.section[-1].strip()}：[{rank_of[s.numbers[heading.passage]]}]")
    elif len(e.section) > 1:
        lines.append(f"{e.section[-1].strip()}：")
    if expected is not None and count < expected:
        lines.append(f"报告列出了{_cn(expected)}项，这里找到{_cn(count)}项：")
    elif asks_count(q.text):
        lines.append(f"共{'两' if count == 2 else _cn(count)}{_unit(q.text)}：")
    lines += [f"{n}. {item.text}[{item.source}]" for n, item in enumerate(items, 1)]
    return replace(
        fact,
        found=True,
        text="\n".join(lines),
        sources=made,
        shape=q.shape if q.shape != "summary" else "list",
        items=items,
        expected_items=expected,
        confidence=confidence(count, expected),
        # the announced count found is the rule that vouches for a list (render: 高), whatever its question's kind
        evidence={**fact.evidence, "shape_items": float(count), "checked": 1.0},
    )


def _heading_place(e: Enumeration, s: Structure, index: Index) -> Place | None:
    """Where a heading list's parent heading is written (cited when no lead-in introduces the list)."""
    if e.kind != "heading" or e.lead_in_place is not None or len(e.section) < 2:
        return None
    text = index.passages[s.numbers[e.first]].text
    at = text.find(e.section[-1])
    return Place(e.first, at, at + len(e.section[-1])) if at >= 0 else None


def _unit(text: str) -> str:
    m = re.search(r"几(个|大)?(方面|部分|点|项|条|类|种|问题|要求|任务|措施)", text)
    if not m:
        return "项"
    return ("个" if m.group(2) in ("方面", "部分", "问题", "要求", "任务", "措施") else "") + m.group(2)


# --- outline and summary -------------------------------------------------------------------------


def _document(reading: Reading, index: Index) -> str:
    """The document a question about "the report" means: the one whose title it names, else the best retrieved."""
    q = reading.question
    docs = list(dict.fromkeys(h.passage.doc for h in reading.hits))
    return max(
        docs,
        key=lambda d: (round(_covered(q, structure(index, d).outline.title, index), 2),
                       -docs.index(d)),
    )  # fmt: skip


def _outline_answer(reading: Reading, index: Index, fact: Answer) -> Answer | None:
    q = reading.question
    doc = _document(reading, index)
    s = structure(index, doc)
    parts = s.outline.parts
    if parts is None or _other_document(s.outline, q):
        return None
    head = f"《{s.outline.title}》" if s.outline.title else "这份文档"
    when = f"（{s.outline.date}）" if s.outline.date else ""
    # the parts alone, cited where their headings are (a lead-in such as 现将有关情况总结如下 is not one)
    answered = shaped(fact, index, replace(parts, lead_in="", lead_in_place=None), s, q, reading.hits)
    lines = [
        f"{head}{when}分为{_cn(len(parts.items))}个部分："
        if q.shape == "outline"
        else f"{head}{when}主要讲了{_cn(len(parts.items))}个部分："
    ]
    for n, item in enumerate(answered.items, 1):
        line = f"{n}. {item.text}"
        if q.shape == "summary":
            line += _first_sentence(parts.items[n - 1])
        lines.append(f"{line}[{item.source}]")
    return replace(answered, text="\n".join(lines), shape=q.shape)


def _first_sentence(item: ListItem) -> str:
    """A part's first sentence after its heading (its lead-in), cut for a summary line."""
    body = item.text[len(item.lead) :].lstrip("。：:， \n")
    m = re.match(r"[^。！？；\n]+", body)
    if not m:
        return ""
    sentence = m.group(0)
    return "：" + (sentence if len(sentence) <= SUMMARY_SENTENCE else sentence[:SUMMARY_SENTENCE] + "…")


# --- reasons -------------------------------------------------------------------------------------

_CAUSE = re.compile(r"因为|由于|因此|所以|原因|为了|之所以|是因|导致|造成|鉴于|以便|从而")
_REQUEST = re.compile(r"请求|建议|申请|提请")  # a request: its reason is said before it
# a sentence that opens with its consequence word (因此畜牧业发达): its cause is the sentence before it
_CONSEQUENCE = re.compile(r"^\s*(?:因此|所以|因而|故而|于是|从而|由此|故)")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
REASON_CHARS = 200
RESTATED = 0.7


def _reason_answer(index: Index, fact: Answer) -> Answer:
    """The chosen sentence, with the sentences before it in its passage when it states a request or a
    consequence without a cause of its own (请求…增加编制 → 人员较少, 任务倍增)."""
    if not fact.found or not fact.sources or not fact.sources[0].used:
        return fact
    source = fact.sources[0]
    span = source.used[0]
    text = source.hit.passage.text
    said = text[span.start : span.end]
    first = said[: _first_sentence_length(said)]
    if _CONSEQUENCE.match(said) or not _CAUSE.search(first) and _restates(first, fact.resolved_question):
        return _with_cause_before(fact, span.start, span.start + len(first))
    if _CAUSE.search(said) or not _REQUEST.search(said):
        return replace(fact, shape="reason")
    start = span.start
    # Sentences before it within its paragraph, back to the one giving the cause, up to REASON_CHARS.
    for m in reversed(list(re.finditer(r"[^。！？\n]+[。！？]", text[: span.start]))):
        if "\n" in text[m.end() : span.start] or span.end - m.start() > REASON_CHARS:
            break
        start = m.start()
        if _CAUSE.search(m.group(0)) or re.search(r"较少|不足|不健全|倍增|薄弱|短缺|缺乏|困难|问题", m.group(0)):
            break
    if start == span.start:
        return replace(fact, shape="reason")
    return _quoting(fact, start, span.end)


def _quoting(fact: Answer, start: int, end: int) -> Answer:
    """The reason answer quoting `start:end` of the first source's passage."""
    source = fact.sources[0]
    text = source.hit.passage.text
    sources = (replace(source, used=(Span(start, end),)), *fact.sources[1:])
    return replace(fact, text=f"{text[start:end].strip()}[{source.rank}]", sources=sources, shape="reason")


def _restates(sentence: str, question: str) -> bool:
    """The sentence says again what the question asks the reason of (此战奠定了…霸权 for 为什么此战奠定了…霸权):
    RESTATED of its characters are the question's."""
    chars = re.sub(r"[\W_]+", "", sentence)
    return bool(chars) and sum(c in question for c in chars) >= RESTATED * len(chars)


def _first_sentence_length(text: str) -> int:
    m = _SENTENCE_END.search(text)
    return m.end() if m else len(text)


def _with_cause_before(fact: Answer, start: int, end: int) -> Answer:
    """The consequence sentence `start:end` of the first source, after the sentence that gives its cause: the one
    before it in its paragraph (its clauses after a ；included), up to REASON_CHARS; the fact stands without it."""
    text = fact.sources[0].hit.passage.text
    before = text[:start].rstrip()
    if not before or not _SENTENCE_END.match(before[-1]) or "\n" in text[len(before) : start]:
        return replace(fact, shape="reason")  # the first sentence of its paragraph: the cause is not beside it
    cause = max(before.rfind(c, 0, len(before) - 1) for c in "。！？!?\n") + 1
    end = len(text[:end].rstrip("；;，, "))
    if end - cause > REASON_CHARS:
        return replace(fact, shape="reason")
    return _quoting(fact, cause, end)


# --- follow-ups over a list ----------------------------------------------------------------------

EXPAND_CHARS = 200  # an item expanded (具体说说第三点) is quoted up to this length, to a sentence end


def listed(previous: Answer, index: Index) -> list[ListedItem]:
    """The list a follow-up's ordinal points into: the items the previous answer gave, else the list its quoted
    sentence belongs to (座谈会说网络安全观要怎么树立 → 第一…第四)."""
    if previous.items:
        return [
            ListedItem(n, item.text, previous.sources[item.source - 1].hit.passage.id, item.start)
            for n, item in enumerate(previous.items, 1)
            if 0 < item.source <= len(previous.sources)
        ]
    if not previous.found or not previous.sources or not previous.sources[0].used:
        return []
    passage, span = previous.sources[0].hit.passage, previous.sources[0].used[0]
    e = list_of(index, passage, span.start, span.end)
    if e is None:
        return []
    s = structure(index, passage.doc)
    return [ListedItem(i.number, i.lead, index.passages[s.numbers[i.place.passage]].id, i.place.start) for i in e.items]


def expand(item: ListItem | ListedItem, index: Index, asked: str, resolved: str) -> Answer:
    """One item of a list, as the document says it, cited: an item in the text from its lead to its end; a
    heading's item, its section's passages; up to EXPAND_CHARS (to a sentence end)."""
    n = index.passage_number(item.passage)
    passage = index.passages[n]
    s = structure(index, passage.doc)
    found = next(
        ((e, i) for e in s.lists for i in e.items if s.numbers[i.place.passage] == n and i.place.start == item.start),
        None,
    )
    if found is not None and found[0].kind == "heading":
        section = index.passages[s.numbers[found[1].place.passage]].section
        children = next((e for e in s.lists if e.kind == "heading" and e.section == section), None)
        if children is not None:  # 第四部分讲了什么: the part's own sections
            base = Answer(asked, True, "", (), resolved, evidence={"item": float(item.number)})
            return replace(shaped(base, index, children, s, analyse(asked)), shape="list")
        numbers = [s.numbers[k] for k in range(found[1].place.passage, found[1].last + 1)]
        spans = [(m, item.start if m == n else 0, len(index.passages[m].text)) for m in numbers]
    else:
        whole = found[1].text if found else item.lead
        spans = [(n, item.start, min(item.start + len(whole), len(passage.text)))]
    sources, parts, room = [], [], EXPAND_CHARS
    for m, start, end in spans:
        text = index.passages[m].text
        if end - start > room:
            stops = [x.end() for x in re.finditer(r"[。！？；]", text[start : start + room])]
            if not stops:
                break  # never half a sentence
            end = start + stops[-1]
        quoted = text[start:end].strip()
        if not quoted:
            continue
        sources.append(Source(len(sources) + 1, Hit(index.passages[m], 0.0), (Span(start, end),)))
        parts.append(f"{quoted}[{len(sources)}]")
        room -= end - start
        if room <= 20:
            break
    return Answer(asked, True, "\n".join(parts), tuple(sources), resolved, confidence=0.9, shape="fact",
                  evidence={"item": float(item.number)})  # fmt: skip
