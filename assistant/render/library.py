"""The 文档 panel of the web chat as HTML: the library's table, the upload's drop zone, what a change did.

Plain functions, text in, HTML out; every name and title is escaped (`html._text`). The two scripts run in
Gradio's `gr.HTML` (`js_on_load`: `element`, `upload` and `trigger` come from Gradio); styles are in
`html.CSS` with the rest of the page's.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.about import About
from assistant.render.html import _text

if TYPE_CHECKING:
    from assistant.store.library import Entry
    from assistant.web.library import Notice

__all__ = [
    "DOCUMENTS_SHOWN",
    "REMOVE_JS",
    "UPLOAD_JS",
    "confirm_html",
    "library_html",
    "notices_html",
    "upload_html",
]

DOCUMENTS_SHOWN = 200  # rows in the documents list; a larger library says how many more


def library_html(entries: Sequence[Entry], about: About, removable: bool = False) -> str:
    """The library: title, date, format (and pages), passages, when added and file, one row each; with
    `removable`, a 删除 button per row (the page asks to confirm before anything is removed)."""
    if not entries:
        return '<p class="qa-docs-more">还没有文档。</p>'
    info = {d.name: d for d in about.documents}
    rows = []
    for e in entries[:DOCUMENTS_SHOWN]:
        d = info.get(e.name)
        title, date = (d.title, d.date) if d else (e.title, "")
        fmt = e.format.upper() + (f" · {e.pages} 页" if e.pages else "")
        passages = str(e.passages) if e.passages is not None else _STATUS.get(e.status, e.status)
        added = (e.added or "")[:16].replace("T", " ") or "–"
        button = (
            f'<td><button class="qa-remove" data-remove="{html.escape(e.name, quote=True)}" '
            f'title="从文档库删除 {html.escape(e.name, quote=True)}">删除</button></td>'
            if removable
            else ""
        )
        rows.append(
            f'<tr><td>{_text(title)}</td><td class="qa-num">{_text(date or "–")}</td>'
            f'<td>{_text(fmt)}</td><td class="qa-num">{_text(passages)}</td><td class="qa-num">{_text(added)}</td>'
            f'<td class="qa-file">{_text(e.name)}</td>{button}</tr>'
        )
    more = len(entries) - DOCUMENTS_SHOWN
    tail = f'<p class="qa-docs-more">还有 {more} 份文档未列出。</p>' if more > 0 else ""
    total = sum(e.passages or 0 for e in entries)
    head = "<th>标题</th><th>日期</th><th>格式</th><th>段落</th><th>添加时间</th><th>文件</th>"
    return (
        f'<table class="qa-docs"><caption class="qa-docs-more">{len(entries)} 份文档，共 {total} 个段落'
        f"</caption><thead><tr>{head}{'<th></th>' if removable else ''}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{tail}"
    )


def notices_html(notices: Sequence[Notice]) -> str:
    """What a change of the library did, one line per file: done, nothing to do (the same file again), refused."""
    if not notices:
        return ""
    marks = {"done": "✓", "same": "○", "refused": "✗"}
    items = "".join(
        f'<li class="qa-{n.kind}"><span class="qa-mark">{marks.get(n.kind, "·")}</span>{_text(n.text)}</li>'
        for n in notices
    )
    return f'<ul class="qa-notices">{items}</ul>'


def confirm_html(name: str, title: str) -> str:
    """The question asked before a document is removed."""
    return (
        f'<p class="qa-confirm">删除《{_text(title)}》（{_text(name)}）吗？文件会从文档库中删除，'
        "之后的回答不再引用它。</p>"
    )


def upload_html(suffixes: Sequence[str], max_mb: float) -> str:
    """The drop zone of the upload (its script sends each file, see `UPLOAD_JS`)."""
    kinds = " ".join(s for s in suffixes if s != ".htm")
    limit = int(max_mb * 2**20)
    return (
        f'<div class="qa-upload" data-max="{limit}" data-suffixes="{html.escape(",".join(suffixes))}">'
        f'<label class="qa-drop"><input type="file" multiple accept="{html.escape(",".join(suffixes))}">'
        "<span>把文件拖到这里，或<u>点击选择文件</u>添加到文档库</span>"
        f"<small>{_text(kinds)}，每个不超过 {max_mb:g} MB</small></label>"
        '<p class="qa-upload-state"></p></div>'
    )


# The upload's script (a gr.HTML's js_on_load: `element`, `upload` and `trigger` come from Gradio). Each file
# is checked for its type and size here first, so that one refused file never stops the others; the server
# checks again. Then the files are sent one by one and the server hears of them in one `upload` event.
UPLOAD_JS = """
const box = element.querySelector('.qa-upload');
if (box) {
  const input = box.querySelector('input[type=file]');
  const state = box.querySelector('.qa-upload-state');
  const max = Number(box.dataset.max);
  const kinds = box.dataset.suffixes.split(',');
  const send = async (list) => {
    const files = Array.from(list || []);
    if (!files.length) return;
    const sent = [];
    for (const [i, f] of files.entries()) {
      const dot = f.name.lastIndexOf('.');
      const suffix = dot >= 0 ? f.name.slice(dot).toLowerCase() : '';
      if (!kinds.includes(suffix)) { sent.push({name: f.name, problem: 'type'}); continue; }
      if (f.size > max) { sent.push({name: f.name, problem: 'size'}); continue; }
      state.textContent = `正在上传 ${f.name}（${i + 1}/${files.length}）…`;
      try { const r = await upload(f); sent.push({name: f.name, path: r.path}); }
      catch (e) { sent.push({name: f.name, problem: 'upload'}); }
    }
    state.textContent = '';
    input.value = '';
    trigger('upload', {files: sent});
  };
  input.addEventListener('change', () => send(input.files));
  box.addEventListener('dragover', (e) => { e.preventDefault(); box.classList.add('qa-dragging'); });
  box.addEventListener('dragleave', () => box.classList.remove('qa-dragging'));
  box.addEventListener('drop', (e) => {
    e.preventDefault();
    box.classList.remove('qa-dragging');
    send(e.dataTransfer.files);
  });
}
"""

# The library table's script: a row's 删除 button asks the server, which asks to confirm.
REMOVE_JS = """
element.addEventListener('click', (e) => {
  const button = e.target.closest('button[data-remove]');
  if (button) trigger('click', {remove: button.dataset.remove});
});
"""

_STATUS = {"not indexed yet": "未索引", "skipped": "无法读取"}
