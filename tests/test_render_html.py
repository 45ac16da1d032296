"""The HTML of answers, sources and the page header: plain functions, checked without a server."""

from __future__ import annotations

from assistant.about import About, DocumentInfo
from assistant.render import html
from assistant.schema import Answer, Hit, Passage, Source, Span

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
    out = html.header_html(page) + html.documents_html(page)
    assert "<script>" not in out and "<img" not in out and "<b>" not in out
    assert "问答&lt;img src=x&gt;" in out and "2016 年 11 月 21 日" in out and "1 份文档，共 3 个段落" in out


def test_a_large_library_lists_its_first_documents_and_says_how_many_more():
    docs = tuple(DocumentInfo(f"{n}.txt", f"文档{n}", "", 1) for n in range(html.DOCUMENTS_SHOWN + 5))
    out = html.documents_html(About("t", "d", docs, ()))
    assert out.count("<tr>") == html.DOCUMENTS_SHOWN + 1 and "还有 5 份文档未列出" in out
