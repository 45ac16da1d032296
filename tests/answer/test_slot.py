"""The asked slot (assistant/answer/slot.py): a sentence fills what the question asks, beside what it asks it about."""

from __future__ import annotations

import pytest

from assistant.answer.slot import relation_said, slot_filled
from assistant.question import analyse


@pytest.mark.parametrize(
    ("question", "sentence", "filled"),
    [
        ("洛阳市委网信办目前有多少在编人员？", "目前市委网信办仅有在编人员 11 人，人员较少。", True),
        # the number counts something else: 1600 is not beside 在编人员
        ("洛阳市委网信办有多少在编人员？", "在编人员较少，日均收集上报 1600 余条信息。", False),
        ("市委网信办日均收集上报多少条信息？", "分析研判有害信息、舆情线索等，日均收集上报 1600 余条。", True),
        ("互联网信息内容管理行政执法证的有效期是几年？", "对在主管部门工作满一年的人员颁发执法证。", False),
        ("洛阳官方微信公众号有多少人关注？", "“精彩洛阳”官方微信粉丝数量已超过2万。", True),
        ("洛阳市委网信办是哪一年成立的？", "近年来，市委网信办在省委网信办成立后连年被评为先进单位。", False),
        ("国务院是哪一年下发通知的？", "国务院 2014 年 8 月下发通知。", True),
        ("洛阳市委网信办主任叫什么名字？", "市委网信办连年被评为“全省网信工作先进单位”。", False),
        ("洛阳的5家国家三类新闻网站分别叫什么？", "国家一类新闻网站1家，国家三类新闻网站5家，位居全省前列。", False),
        ("洛阳办过什么名字的创新创业大赛？", "开展“直通硅谷”创新创业大赛、洛阳电子商务大会等活动。", True),
        ("洛阳市委书记是谁？", "围绕市委市政府中心工作，开展网上宣传。", False),
        ("中央网络安全和信息化工作座谈会是谁主持的？", "习近平总书记主持会议并发表重要讲话。", True),
        ("那些网络攻击是哪个国家的情报机关干的？", "及时发现处置境外情报机关实施的网络攻击事件 50 余起。", False),
        # an exact figure asked, a bound said
        ("“精彩洛阳”微信具体有多少粉丝？", "“精彩洛阳”官方微信粉丝数量已超过2万。", False),
        ("“精彩洛阳”微信有多少粉丝？", "“精彩洛阳”官方微信粉丝数量已超过2万。", True),
        ("How many followers does the account have exactly?", "“精彩洛阳”官方微信粉丝数量已超过2万。", False),
        ("市委网信办具体有多少在编人员？", "目前市委网信办仅有在编人员 11 人。", True),
        # a measure asked (多高, 多少米, 多久): a number in a unit of its kind, not 一种 or no number at all
        ("纽西兰鸡毛松有多高？", "是罗汉松科鸡毛松属的一种，纽西兰的特有种。", False),
        ("纽西兰鸡毛松有多高？", "树高可达 60 米。", True),
        ("六耳铃生长的地区海拔约是多少米？", "分布在亚洲、大洋洲的热带和亚热带地区。", False),
        ("六耳铃生长的地区海拔约是多少米？", "生长于海拔 2,000 米的地区。", True),
        ("他在狱中待了多久？", "他在狱中待了三年。", True),
        ("大赛的级别有多高？", "属于世界最高级别的赛事。", True),  # a level, not a measure
        # a count said with its measure word (几类) when no noun comes before it
        ("在此监禁者主要分为几类？", "亦需监禁至少25年才可转往青山医院接受监管2年。", False),
        ("在此监禁者主要分为几类？", "监禁者主要分为三类。", True),
    ],
)
def test_the_asked_slot_is_filled_beside_what_it_is_asked_about(question: str, sentence: str, filled: bool) -> None:
    assert slot_filled(analyse(question), sentence) is filled


@pytest.mark.parametrize(
    ("question", "sentence", "topic", "said"),
    [
        # the question's relation (入选, 兴建, 上映) beside its question word, not its subject (the topic's words)
        ("占旭刚什么时候入选中国国家举重队？", "1994年入选国家队。", "占旭刚", True),
        ("占旭刚什么时候入选中国国家举重队？", "1996年和2000年两度获得举重项目金牌。", "占旭刚", False),
        ("基督教神学院兴建于哪一年？", "这座建筑现在是基督教神学院，1980年成立。", "基督教神学院", False),
        ("摄影结束什么时候在日本上映的？", "2007年7月27日摄影开始，8月18日结束。", "摄影", False),
        ("市委网信办连年被评为什么？", "市委网信办在省委网信办成立后连年被评为先进单位。", "", True),
        (
            "黑龙江省博物馆在哪？",
            "博物馆建筑在2005年列入文物保护单位。",
            "黑龙江省博物馆",
            True,
        ),  # nothing beyond the subject
    ],
)
def test_the_questions_relation_is_said(question: str, sentence: str, topic: str, said: bool) -> None:
    assert relation_said(analyse(question), sentence, topic) is said
