"""HTML pages: what a reader reads, without navigation, scripts and styles."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest import CorpusError, paragraphs, read_document, report_date, title

PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head>
<meta charset="utf-8"><title>洛阳市网信办 - 工作动态</title>
<style>body { font-family: serif; } .x::after { content: "样式里的字"; }</style>
<script>var secret = "脚本里的字"; document.write("写出来的字");</script>
</head><body>
<header><a href="/">首页</a> <a href="/news">新闻</a></header>
<nav><ul><li>导航一</li><li>导航二</li></ul></nav>
<div role="navigation">面包屑 &gt; 工作动态</div>
<main>
<article>
<header><h1>关于网信工作的汇报</h1></header>
<p class="date">(2016 年 11 月 21 日)</p>
<h2>一、总体情况</h2>
<p>今年以来，全市网信工作
   稳步推进，成效明显。</p>
<p><strong>一是加强领导。</strong>成立领导小组，统筹推进。</p>
<h3>（一）数据</h3>
<table><tr><th>地区</th><th>企业数</th></tr><tr><td>洛阳</td><td>6 家</td></tr></table>
<ul><li>第一项措施</li><li>第二项<b>措施</b></li></ul>
<p>第一行<br>第二行</p>
<div hidden>隐藏的字</div><div style="display: none">看不见的字</div>
<noscript>请打开脚本</noscript>
</article>
</main>
<aside>相关链接</aside>
<footer>版权所有 © 洛阳市委网信办</footer>
<script src="stats.js"></script>
</body></html>
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("html")
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    return read_document(folder / "page.html", folder)


def test_only_what_a_reader_reads(page) -> None:
    for gone in ("脚本里的字", "写出来的字", "样式里的字", "首页", "导航一", "面包屑", "隐藏的字", "看不见的字",
                 "请打开脚本", "相关链接", "版权所有", "font-family", "secret"):  # fmt: skip
        assert gone not in page.text, gone
    assert (page.format, page.encoding, page.meta_title) == ("html", "utf-8", "洛阳市网信办 - 工作动态")


def test_headings_title_date_and_sections(page) -> None:
    assert title(page) == "关于网信工作的汇报"
    assert report_date(page) == "2016-11-21"
    sections = {p.text: p.section for p in paragraphs(page)}
    assert sections["今年以来，全市网信工作稳步推进，成效明显。"] == ("关于网信工作的汇报", "一、总体情况")
    assert sections["一是加强领导。成立领导小组，统筹推进。"] == ("关于网信工作的汇报", "一、总体情况", "一是加强领导")
    assert sections["地区：洛阳，企业数：6 家"] == ("关于网信工作的汇报", "一、总体情况", "（一）数据")
    assert "- 第二项措施" in sections
    assert "第一行" in sections and "第二行" in sections  # <br> breaks the line


def test_offsets_point_into_the_extracted_text(page) -> None:
    for para in paragraphs(page):
        assert "".join(page.text[o] for o in para.offsets) == para.text


def test_declared_charset_is_honoured(tmp_path: Path) -> None:
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"></head>'
    html += "<body><p>市委网信办仅有在编人员 11 人。</p></body></html>"
    (tmp_path / "gbk.htm").write_bytes(html.encode("gbk"))
    doc = read_document(tmp_path / "gbk.htm", tmp_path)
    assert doc.text == "市委网信办仅有在编人员 11 人。\n"
    assert (doc.encoding, doc.format) == ("gbk", "html")


def test_a_page_without_text_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.html").write_text("<html><body><script>x()</script><nav>菜单</nav></body></html>")
    with pytest.raises(CorpusError, match=r"empty\.html: no readable text in the page$"):
        read_document(tmp_path / "empty.html", tmp_path)


def test_several_h1_leave_the_title_to_the_page_title(tmp_path: Path) -> None:
    html = "<title>汇编</title><h1>第一篇</h1><p>正文一。</p><h1>第二篇</h1><p>正文二。</p>"
    (tmp_path / "many.html").write_text(html, encoding="utf-8")
    doc = read_document(tmp_path / "many.html", tmp_path)
    assert title(doc) == "汇编"
    assert {p.text: p.section for p in paragraphs(doc)}["正文二。"] == ("汇编", "第二篇")  # the title heads every path
