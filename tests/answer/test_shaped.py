"""Answers shaped like the question, end to end on real indexes: the report, and a corpus of the report, a .docx
with Word heading and list styles and a PDF printed by Chromium (tests/data/shapes, benchmarks/shapes_corpus.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answer import shaped
from assistant.conversation import Turn
from assistant.evaluate import norm, read_questions, score
from assistant.ingest.structure import enumerations, outline
from assistant.pipeline import Assistant
from assistant.render.json import answer_to_dict
from assistant.schema import Answer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHAPES = ROOT / "tests" / "data" / "shapes"
REPORT_DOC = next(p.name for p in SHAPES.glob("洛阳-*.txt"))
DOCX = "清河县数字政府建设工作总结.docx"
PDF = "校园食品安全管理实施方案.pdf"
SIX = ["正面宣传", "舆论引导", "规范管理", "坚守阵地", "队伍建设", "基础应用"]


@pytest.fixture(scope="module")
def shapes(assistant: Assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """An assistant over the report, the .docx and the PDF (the session's model, an index of its own)."""
    settings = assistant.settings.with_(corpus_dir=SHAPES, index_dir=tmp_path_factory.mktemp("shapes-index"))
    other = Assistant(settings, embedder=assistant.embedder)
    yield other
    other.index.close()


def passages_of(a: Assistant, doc: str) -> list:
    return [a.index.passages[n] for n in a.index.document_passages(doc)]


def assert_items_cited(answer: Answer) -> None:
    """Every item is quoted where its source says: the item's text at its offsets in the cited passage."""
    assert answer.items
    for item in answer.items:
        source = answer.sources[item.source - 1]
        assert source.rank == item.source
        assert source.hit.passage.text[item.start : item.end] == item.text
        assert any(s.start <= item.start and item.end <= s.end for s in source.used), "the item's span is marked used"
        assert f"{item.text}[{item.source}]" in answer.text


# --- structure as data -----------------------------------------------------------------------------


def test_the_reports_lists_and_outline(assistant: Assistant) -> None:
    passages = passages_of(assistant, assistant.index.documents[0])
    lists = enumerations(passages)
    by_lead = {e.items[0].lead: e for e in lists}
    six = by_lead["抓正面宣传，创新求进"]
    assert (six.kind, six.expected, [i.lead[1:5] for i in six.items]) == ("heading", 6, SIX)
    assert six.lead_in == "重点要抓好以下六个方面的工作。"
    asks = by_lead["要凝聚共识"]  # 一是…六是 across two passages
    assert asks.kind == "inline" and len(asks.items) == 6 and asks.items[-1].lead == "要加强组织领导"
    assert len({i.place.passage for i in asks.items}) == 2
    assert [i.lead for i in by_lead["各县（市、区）网信机构不健全"].items][1:] == [
        "网评队伍建设薄弱",
        "网信办、信息化办沟通协调较少",
    ]
    assert len(by_lead["树立正确的网络安全观"].items) == 4  # 第一，…第四，
    for e in lists:  # every item's lead is where its place says
        for item in e.items:
            assert passages[item.place.passage].text[item.place.start : item.place.end] == item.lead
    o = outline(passages, lists)
    assert o.date == "2016-11-21" and len(o.parts.items) == 4
    assert o.parts.items[2].lead == "贯彻落实省委会议精神初步意见"


def test_lists_of_a_docx_and_a_pdf(shapes: Assistant) -> None:
    docx = enumerations(passages_of(shapes, DOCX))
    bullets = next(e for e in docx if e.kind == "bullet")
    assert bullets.expected == 5 and len(bullets.items) == 5 and bullets.items[0].lead.startswith("推进政务服务")
    problems = next(e for e in docx if e.kind == "inline")
    assert [i.lead[:4] for i in problems.items] == ["部分乡镇", "专业人才", "部分业务"]
    pdf = enumerations(passages_of(shapes, PDF))
    duties = next(e for e in pdf if e.kind == "inline")  # 首先…其次…最后
    assert [i.lead[:4] for i in duties.items] == ["教育部门", "市场监管", "卫生健康"]
    measures = next(e for e in pdf if e.kind == "heading" and e.expected == 4)
    assert [i.lead for i in measures.items][0] == "严格食材采购管理"


# --- shaped answers ----------------------------------------------------------------------------------


def test_a_list_answer_gives_every_item_cited(assistant: Assistant) -> None:
    answer = assistant.ask("贯彻落实意见要抓好哪几个方面？")
    assert answer.found and answer.shape == "list" and answer.expected_items == 6
    assert [i.text[1:5] for i in answer.items] == SIX
    assert "共六个方面" in answer.text  # a count asked: the number, then the items
    assert_items_cited(answer)
    assert answer.confidence == shaped.confidence(6, 6)
    as_json = answer_to_dict(answer)
    assert as_json["shape"] == "list" and len(as_json["items"]) == 6 and as_json["expected_items"] == 6


def test_an_inline_list_across_passages_is_whole(assistant: Assistant) -> None:
    answer = assistant.ask("省委领导小组第三次会议提出了哪些要求？")
    assert [i.text for i in answer.items][:2] == ["要凝聚共识", "要防范风险"] and len(answer.items) == 6
    assert_items_cited(answer)
    weak = assistant.ask("全市网信工作有哪些不足之处？")
    assert len(weak.items) == 3 and "不足" in weak.text.split("\n")[0]


def test_a_partial_list_says_so() -> None:
    assert shaped.confidence(4, 6) < shaped.confidence(6, 6) and shaped.confidence(4, 6) < 0.8 <= shaped.confidence(
        3, None
    )


def test_outline_and_summary(assistant: Assistant) -> None:
    parts = assistant.ask("汇报分成哪几部分？")
    assert parts.shape == "outline" and len(parts.items) == 4 and "2016-11-21" in parts.text
    assert_items_cited(parts)
    summary = assistant.ask("请概括一下这份汇报的内容。")
    assert summary.shape == "summary" and len(summary.items) == 4
    assert "重点要抓好以下六个方面的工作" in summary.text  # a part's first sentence
    assert len(summary.text) <= 600


def test_a_reason_gives_the_cause_of_a_request(assistant: Assistant) -> None:
    answer = assistant.ask("为什么请求增加市委网信办的编制和人员？")
    assert answer.shape == "reason" and "人员较少" in answer.text and "请求" in answer.text


def test_a_fact_stays_a_fact_and_the_unsaid_is_refused(shapes: Assistant, assistant: Assistant) -> None:
    fact = assistant.ask("与哪些知名网站开展了宣传合作？")  # a list within one sentence: that sentence
    assert fact.found and fact.shape == "fact" and "腾讯" in fact.text
    item = assistant.ask("正确的网络安全观包括哪些内容？")  # about one item of 第一…第四, not the list
    assert item.found and not item.items and "整体的" in item.text
    assert not shapes.ask("清河县计划新建哪些5G基站？").found


def test_lists_of_the_docx_and_the_pdf_answered(shapes: Assistant) -> None:
    plan = shapes.ask("清河县2024年计划做好哪几项工作？")
    assert len(plan.items) == 5 and plan.expected_items == 5 and plan.sources[0].hit.passage.doc == DOCX
    assert_items_cited(plan)
    duties = shapes.ask("校园食品安全工作中各部门的职责是怎么分工的？")
    assert duties.shape == "manner" and [i.text[:4] for i in duties.items] == ["教育部门", "市场监管", "卫生健康"]
    parts = shapes.ask("校园食品安全实施方案由哪几部分组成？")
    assert [i.text for i in parts.items] == ["工作目标", "主要措施", "职责分工", "工作要求"]


def test_the_shapes_question_set(shapes: Assistant) -> None:
    """eval/shapes.jsonl as `assistant eval` scores it (--max-answer 600): the target of issue 21 is 0.85."""
    questions = read_questions(ROOT / "eval" / "shapes.jsonl")
    answers = [answer_to_dict(shapes.ask(q["question"], q["history"])) for q in questions]
    summary, _ = score(questions, answers, max_answer=600)
    # Of the 5 unanswerable ones, the two the sentence answerer takes (处罚标准, 校外培训机构) are issue 20's.
    assert summary["answer"] >= 0.85 and summary["refused"] >= 0.6, summary


# --- follow-ups over a list -------------------------------------------------------------------------


def ask_in_turn(a: Assistant, questions: list[str]) -> list[Answer]:
    turns: list[Turn] = []
    for q in questions:
        turns.append(Turn(q, a.ask(q, turns)))
    return [t.answer for t in turns]


def test_ordinals_point_into_the_list_given(assistant: Assistant) -> None:
    listed, third, fifth, last, eighth = ask_in_turn(
        assistant, ["贯彻落实意见要抓好哪几个方面？", "第三点呢？", "具体说说第五点", "最后一项呢？", "第八条呢？"]
    )
    assert norm(third.text).startswith("抓规范管理") and "清朗" in third.text
    assert "第五点“抓队伍建设，强筋健体”" in fifth.resolved_question and "网评队伍" in fifth.text
    assert norm(last.text).startswith("抓基础应用")
    assert not eighth.found and "6 点" in eighth.text
    for answer in (third, fifth, last):
        source = answer.sources[0]
        quoted = re.sub(r"\[\d+\]", "", answer.text.split("\n")[0])
        assert norm(source.hit.passage.text[source.used[0].start : source.used[0].end]) == norm(quoted)


def test_an_ordinal_after_a_sentence_of_a_list(assistant: Assistant) -> None:
    _, third = ask_in_turn(assistant, ["座谈会说网络安全观要怎么树立？", "第三条呢？"])
    assert "全天候全方位感知网络安全态势" in third.text


def test_a_person_then_his_list(assistant: Assistant) -> None:
    _, asks, second = ask_in_turn(assistant, ["省委网信领导小组第三次会议由谁主持？", "他提了几点要求？", "第二点呢？"])
    assert len(asks.items) == 6 and "共六点" in asks.text
    assert norm(second.text).startswith("要防范风险")


def test_the_other_list_of_a_document(shapes: Assistant) -> None:
    _, results = ask_in_turn(shapes, ["清河县数字政府建设存在哪些问题？", "那成效呢？"])
    assert [i.text for i in results.items][0] == "政务服务效率明显提升"


def test_the_shapes_conversations() -> None:
    """The conversation set is well formed: at least 15 follow-ups, some of them unanswerable."""
    rows = [
        json.loads(line) for line in (ROOT / "eval" / "conversations-shapes.jsonl").read_text().splitlines() if line
    ]
    assert len(rows) >= 15 and any(not r["answerable"] for r in rows) and all(len(r["turns"]) >= 2 for r in rows)


def test_an_llm_list_answer_is_checked_item_by_item(assistant: Assistant) -> None:
    """The LLM answerer's reply to a list question must name every item of the extractive list (each checked
    against the text by its characters), else the extractive list stands, with a note."""
    from assistant.answer import llm

    listed = assistant.ask("贯彻落实意见要抓好哪几个方面？")
    whole = llm.final(listed, listed.text)
    assert whole.answerer == "llm" and whole.note == "" and llm.missing_items(listed, whole.text) == []
    part = "\n".join(listed.text.split("\n")[:4])  # the lead-in, the count and two of six items
    kept = llm.final(listed, part)
    assert kept.note == llm.NOTE_ITEMS and kept.text == listed.text and kept.answerer == "extractive"
    assert len(llm.missing_items(listed, part)) == 4
    made_up = llm.final(listed, listed.text.replace("抓正面宣传，创新求进", "抓经济建设，全面发展"))
    assert made_up.note == llm.NOTE_UNGROUNDED and made_up.text == listed.text  # an item the source does not say


def test_a_list_found_in_part_says_so(assistant: Assistant, tmp_path: Path) -> None:
    """A lead-in announcing five items of which the text numbers three: the answer says how many of how many,
    and its confidence is the rule's for a partial list."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notice.txt").write_text(
        "清河县档案工作通报\n\n一、档案工作要求\n全县档案工作要做好以下五个方面：一是健全档案管理制度。"
        "二是加强档案库房建设。三是推进档案数字化。\n\n二、其他事项\n各单位于年底前报送工作总结。\n",
        encoding="utf-8",
    )
    settings = assistant.settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")
    small = Assistant(settings, embedder=assistant.embedder)
    try:
        answer = small.ask("全县档案工作要做好哪几个方面？")
    finally:
        small.index.close()
    assert answer.found and answer.expected_items == 5 and len(answer.items) == 3
    assert "报告列出了五项，这里找到三项" in answer.text
    assert answer.confidence == shaped.confidence(3, 5) < 0.8


COUNTY = """吉山县概况

吉山县是东州的一个县，县城在吉水北岸。吉山县全年日照时间长，土壤肥沃，吉水和它的支流带来充足的水源；因此，吉山县的畜牧业十分发达。县内建有三座中型水库，灌溉全县一半以上的耕地。

河口之战

元和三年，王氏的军队在吉水河口设下埋伏，一举击溃了北方来犯的敌军主力。河口之战奠定了王氏在东州的统治地位。此后二十年，东州境内没有再发生大的战事。
"""


@pytest.fixture(scope="module")
def county(assistant: Assistant, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    corpus = tmp_path_factory.mktemp("county")
    (corpus / "吉山县.txt").write_text(COUNTY, encoding="utf-8")
    settings = assistant.settings.with_(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("county-index"))
    return Assistant(settings, embedder=assistant.embedder)


def test_a_reason_said_before_its_consequence(county: Assistant) -> None:
    """因此畜牧业发达 and 河口之战奠定了… state the consequence; the cause is the sentence before, and the answer
    is that sentence with the consequence (not the sentences after it)."""
    livestock = county.ask("为什么吉山县的畜牧业十分发达？")
    assert livestock.shape == "reason" and livestock.found
    assert "日照时间长" in livestock.text and "因此" in livestock.text and "水库" not in livestock.text
    battle = county.ask("为什么河口之战奠定了王氏在东州的统治地位？")
    assert battle.found and "设下埋伏" in battle.text and "二十年" not in battle.text
    used = battle.sources[0].used[0]
    assert battle.sources[0].hit.passage.text[used.start : used.end] in battle.text
