"""The HTML of answers, sources and the page header: plain functions, checked without a server."""

from __future__ import annotations

from dataclasses import replace

from assistant.about import About, DocumentInfo
from assistant.render import HIGH, HIGH_FOUND, confidence_bands, confidence_label, html, library
from assistant.schema import Answer, Hit, Passage, Source, Span
from assistant.store.library import Entry
from assistant.web.library import Notice

INJECTION = "<img src=x onerror=alert(1)>"


def _source(text: str, used=(), matched=(), section=("一、<i>标题</i>",), doc="报告<script>.txt", rank=1) -> Source:
    passage = Passage(id=f"p{rank}", doc=doc, section=section, text=text, start=0, end=len(text))
    return Source(rank=rank, hit=Hit(passage, score=0.03, dense=0.9, sparse=None, matched=matched), used=used)


def test_passage_html_escapes_and_marks():
    text = "前言<script>alert(1)</script>。目前市委网信办仅有在编人员 11 人。"
    used = Span(text.index("目前"), len(text))
    out = html.passage_html(text, (used,), ("市委", "网信", "办", "在编人员", "script"))
    assert "<script>" not in out and "&lt;" in out
    assert out.count("<mark>") == 1 and "<mark>目前<b>市委网信办</b>仅有<b>在编人员</b> 11 人。</mark>" in out
    assert "&lt;<b>script</b>&gt;" in out  # query words are marked outside the used sentence too


def test_single_character_words_are_marked_only_next_to_longer_ones():
    out = html.passage_html("市委网信办，申办公室", (), ("市委", "网信", "办"))
    assert out == "<b>市委网信办</b>，申办公室"


def test_answer_html_escapes_everything_and_numbers_sources():
    source = _source("<b>粗体</b> **星号** 正文", used=(Span(0, 5),))
    answer = Answer(question="q", found=True, text="答<i>案</i> [1]", sources=(source,), resolved_question="q")
    out = html.answer_html(answer)
    for raw in ("<i>", "<script>", "<b>粗体"):
        assert raw not in out
    assert '<span class="qa-cite">[1]</span>' in out and 'class="qa-sources"' in out
    assert "语义相似度 0.900" in out and "BM25 –" in out
    assert "\n\n" not in out
    assert "语义相似度" not in html.answer_html(answer, show_scores=False)


def test_not_found_lists_related_passages_differently():
    answer = Answer(question="q", found=False, text="报告中没有找到这个问题的答案。", sources=(_source("相关段落"),))
    out = html.answer_html(answer)
    assert "qa-notfound" in out and 'class="qa-related"' in out and "相关但不是答案" in out
    assert 'class="qa-sources"' not in out


def test_user_html_keeps_markup_as_text():
    assert html.user_html(INJECTION + "\n**x**") == "&lt;img src=x onerror=alert(1)&gt;<br>**x**"


def test_one_document_sources_show_their_sections_without_the_title():
    source = _source("正文", section=("关于 网信工作的汇报", "一、总体情况"), doc="a.txt")
    out = html.source_html(source, titles={"a.txt": "关于网信工作的汇报"})
    assert "一、总体情况" in out and "汇报" not in out and "a.txt" not in out


def test_several_documents_each_source_names_its_document_by_title():
    first = _source("甲", section=("甲报告", "一、情况"), doc="a.txt")
    second = _source("乙", section=(), doc="b.txt", rank=2)
    titles = {"a.txt": "甲报告", "b.txt": "乙<b>通报</b>"}
    answer = Answer(question="q", found=True, text="甲 [1]", sources=(first, second))
    out = html.answer_html(answer, titles=titles)
    assert '<span class="qa-doc">《甲报告》</span><span class="qa-section">一、情况</span>' in out
    assert "《乙&lt;b&gt;通报&lt;/b&gt;》" in out and "a.txt" not in out


def test_header_and_document_list_escape_the_corpus_words():
    docs = (DocumentInfo("x<script>.txt", "标题<script>", "2016 年 11 月 21 日", 3),)
    page = About(title="问答<img src=x>", description="说明 & <b>", documents=docs, examples=())
    entries = [_entry("x<script>.txt", "标题<script>", passages=3)]
    out = html.header_html(page) + library.library_html(entries, page, removable=True)
    assert "<script>" not in out and "<img" not in out and "<b>" not in out
    assert "问答&lt;img src=x&gt;" in out and "2016 年 11 月 21 日" in out and "1 份文档，共 3 个段落" in out
    assert 'data-remove="x&lt;script&gt;.txt"' in out  # the name a 删除 button sends back, as an attribute
    assert 'data-remove="a&quot;b.txt"' in library.library_html([_entry('a"b.txt', "t")], page, removable=True)


def test_a_large_library_lists_its_first_documents_and_says_how_many_more():
    entries = [_entry(f"{n}.txt", f"文档{n}") for n in range(library.DOCUMENTS_SHOWN + 5)]
    out = library.library_html(entries, About("t", "d", (), ()))
    assert out.count("<tr>") == library.DOCUMENTS_SHOWN + 1 and "还有 5 份文档未列出" in out
    assert "data-remove" not in out  # not removable: no buttons


def test_library_rows_say_format_pages_and_what_is_not_indexed():
    entries = [
        _entry("a.pdf", "甲", fmt="pdf", pages=8, passages=12, added="2026-11-29T10:03:12+0000"),
        _entry("b.md", "乙", status="not indexed yet", passages=None, added=None),
        _entry("c.txt", "丙", status="skipped", passages=None, added=None),
    ]
    out = library.library_html(entries, About("t", "d", (), ()))
    assert "<td>PDF · 8 页</td>" in out and "2026-11-29 10:03" in out and "共 12 个段落" in out
    assert ">未索引<" in out and ">无法读取<" in out


def test_notices_say_each_file_and_escape_its_name():
    said = [Notice("done", "已添加 a.txt。"), Notice("same", "b.txt 已在库中。"), Notice("refused", "<i>x</i>：不行")]
    out = library.notices_html(said)
    assert out.count("<li") == 3 and '<li class="qa-same">' in out and "&lt;i&gt;x&lt;/i&gt;" in out
    assert library.notices_html([]) == ""
    assert "《标题&lt;b&gt;》（a&lt;b&gt;.txt）" in library.confirm_html("a<b>.txt", "标题<b>")


def test_confidence_is_shown_in_words_beside_an_answer_found():
    found = Answer(question="q", found=True, text="答 [1]", confidence=0.93)
    out = html.answer_html(found, show_scores=False)
    assert "把握：<b>高</b>" in out and "（0.93）" not in out and 'title="估计这个回答正确的概率：93%' in out
    assert "（0.93）" in html.answer_html(found, show_scores=True)
    assert "把握：<b>中</b>" in html.answer_html(replace(found, confidence=0.6))
    assert f"中：{confidence_bands()[1][0]:.0%} 以上" in out
    # 高 also needs the question said around the answer: most of it unsaid, a high probability reads 中
    unsaid = replace(found, evidence={"phrases": HIGH_FOUND / 2})
    assert "把握：<b>中</b>" in html.answer_html(unsaid)
    assert "把握：<b>高</b>" in html.answer_html(replace(found, evidence={"phrases": HIGH_FOUND}))
    # and an answer a rule can check (answer.slot.checked): free text or the question's relation unsaid, 中
    assert "把握：<b>中</b>" in html.answer_html(replace(found, evidence={"phrases": 1.0, "checked": 0.0}))
    low = confidence_bands()[1][0]
    assert "qa-conf-low" in html.answer_html(replace(found, confidence=low / 2))  # given only when asked for
    # Not under "not found" (a low chance would read as doubt of the refusal), nor when not judged.
    assert "把握" not in html.answer_html(replace(found, found=False, confidence=0.05))
    assert "把握" not in html.answer_html(replace(found, confidence=None))


def test_both_faces_use_one_set_of_words():
    from assistant.render import terminal

    assert terminal.confidence_label is confidence_label
    low = confidence_bands()[1][0]  # 中 starts at the shipped refusal threshold
    assert 0 < low < HIGH
    probabilities = (0.0, low / 2, low, (low + HIGH) / 2, HIGH, 1.0)
    assert [confidence_label(p) for p in probabilities] == ["低", "低", "中", "中", "高", "高"]


def _entry(name: str, title: str, fmt: str = "txt", pages=None, passages=1, added="2026-11-29T10:00:00+0000",
           status="indexed") -> Entry:  # fmt: skip
    return Entry(name, title, fmt, pages, passages, added, 10, status)


def test_a_list_answer_is_an_ordered_list_each_item_cited():
    from assistant.schema import Item

    sources = tuple(_source(f"（{n}）第{n}项<b>内容</b>。", rank=n) for n in (1, 2, 3))
    items = (Item("第二项<b>", 2, 3, 8), Item("第三项", 3, 3, 6))
    answer = Answer(
        "有哪些？", True, "以下几点：[1]\n1. 第二项<b>[2]\n2. 第三项[3]", sources, items=items, shape="list"
    )
    out = html.answer_html(answer)
    assert '<p class="qa-text">以下几点：<span class="qa-cite">[1]</span></p><ol class="qa-items">' in out
    assert (
        '<li>第二项&lt;b&gt;<span class="qa-cite">[2]</span></li><li>第三项<span class="qa-cite">[3]</span></li></ol>'
        in out
    )
    assert "<b>[" not in out and out.count("<li>") == 2
    plain = html.answer_html(replace(answer, items=()))  # without items: one paragraph, as before
    assert "<ol" not in plain and "1. 第二项" in plain
