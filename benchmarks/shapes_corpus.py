"""The corpus of the shaped-answer question set (eval/shapes.jsonl): the report and two structured
documents written here, a .docx with Word heading and list styles (python-docx) and a PDF printed by
headless Chromium from a page with <h2>/<h3> headings and an ordered list.

    python -m benchmarks.shapes_corpus [FOLDER]   # default tests/data/shapes

The documents are written from the text below; the files are kept in tests/data/shapes so that the set
can be scored without Chromium.
"""

from __future__ import annotations

import html
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "tests" / "data" / "shapes"
REPORT = next((ROOT / "corpus").glob("洛阳-*.txt"))

# (style, text): Title, Heading 1/2, List Bullet, List Number or a body paragraph ("")
DOCX: list[tuple[str, str]] = [
    ("Title", "清河县2023年数字政府建设工作总结"),
    (
        "",
        "2023年，清河县围绕“一网通办、一网统管、一网协同”目标，扎实推进数字政府建设，取得了阶段性成效。现将有关情况总结如下。",
    ),
    ("Heading 1", "一、主要成效"),
    ("", "全年数字政府建设主要取得了以下四个方面的成效。"),
    ("Heading 2", "（一）政务服务效率明显提升"),
    ("", "县政务服务中心上线“一窗受理”系统，群众办事平均用时由45分钟缩短到18分钟，网上可办率达到92%。"),
    ("Heading 2", "（二）基层治理更加精准"),
    ("", "建成县级城市运行管理平台，接入视频监控点位1200个，全年协调处置各类事件8600余件。"),
    ("Heading 2", "（三）数据共享取得突破"),
    ("", "建成县级政务数据共享交换平台，归集人口、法人、证照等数据1.2亿条，向23个部门提供数据服务。"),
    ("Heading 2", "（四）安全防护能力增强"),
    ("", "开展网络安全攻防演练两次，修复系统漏洞146个，全年未发生重大网络安全事件。"),
    ("Heading 1", "二、存在的问题"),
    (
        "",
        "对照上级要求，工作中还存在一些问题：一是部分乡镇网络基础设施薄弱，偏远村组网络覆盖不足。二是专业人才短缺，全县信息化专职人员仅有27人。三是部分业务系统使用率偏低，“建而不用”现象仍然存在。",
    ),
    (
        "",
        "业务系统使用率偏低，主要是因为基层工作人员信息化操作能力不足，培训不够经常，且部分系统与实际业务流程不匹配。",
    ),
    ("Heading 1", "三、2024年工作计划"),
    ("", "2024年，我们将重点做好以下五项工作："),
    ("List Bullet", "推进政务服务“掌上办”，年底前高频事项全部实现手机办理；"),
    ("List Bullet", "扩大城市运行管理平台覆盖范围，接入全部乡镇；"),
    ("List Bullet", "完善数据共享机制，制定数据共享责任清单；"),
    ("List Bullet", "加强人才队伍建设，每年组织信息化专题培训不少于四次；"),
    ("List Bullet", "落实网络安全责任制，开展常态化安全检查。"),
    ("Heading 1", "四、有关建议"),
    ("", "建议市级部门加大对县级数字政府建设的资金支持，并统一数据标准，减少重复建设。"),
]

# (tag, text) for the PDF page: h1 title, p.date, h2/h3 headings, p body, li items of an <ol>
PDF: list[tuple[str, str]] = [
    ("h1", "关于加强校园食品安全管理的实施方案"),
    ("date", "（2024年3月1日）"),
    ("h2", "一、工作目标"),
    ("p", "通过一年的集中整治，全面落实学校食品安全主体责任，实现学校食堂“明厨亮灶”全覆盖，校园食品安全事故零发生。"),
    ("h2", "二、主要措施"),
    ("p", "各学校要重点落实以下四项措施。"),
    ("h3", "1.严格食材采购管理"),
    ("p", "食材统一从定点供应商采购，建立进货查验和索证索票制度，做到来源可追溯。"),
    ("h3", "2.规范食堂加工操作"),
    ("p", "食堂从业人员持健康证上岗，生熟分开，每餐食品留样48小时。"),
    ("h3", "3.落实校长陪餐制度"),
    ("p", "学校负责人每天轮流陪餐，及时发现和解决饭菜质量问题。"),
    ("h3", "4.加强日常监督检查"),
    ("p", "市场监管部门每学期对学校食堂开展不少于两次的全覆盖检查。"),
    ("h2", "三、职责分工"),
    (
        "p",
        "各部门按照职责分工抓好落实：首先，教育部门负责督促学校落实主体责任；其次，市场监管部门负责食品安全日常监管；最后，卫生健康部门负责食源性疾病监测和事故调查处置。",
    ),
    ("h2", "四、工作要求"),
    (
        "p",
        "校园食品安全关系广大师生身体健康，之所以要开展集中整治，是因为部分学校食堂仍存在采购把关不严、操作不规范等隐患。各地要提高认识，加强领导，确保各项措施落到实处。",
    ),
]


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = DOCX[0][1]
    for style, text in DOCX:
        if style.startswith("Heading"):
            document.add_heading(text, level=int(style[-1]))
        else:
            document.add_paragraph(text, style=style or None)
    document.save(str(path))
    return path


def pdf_page() -> str:
    body = []
    for tag, text in PDF:
        t = html.escape(text)
        body.append(f'<p class="date">{t}</p>' if tag == "date" else f"<{tag}>{t}</{tag}>")
    style = "body{font-family:'Noto Serif CJK SC',serif;font-size:14pt;line-height:1.6}h1{text-align:center}"
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(PDF[0][1])}</title>'
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")  # fmt: skip


def write(folder: Path = FOLDER) -> Path:
    from benchmarks.documents import print_pdf

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPORT, folder / REPORT.name)
    write_docx(folder / "清河县数字政府建设工作总结.docx")
    print_pdf(pdf_page(), folder / "校园食品安全管理实施方案.pdf", header_footer=False)
    return folder


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER))
