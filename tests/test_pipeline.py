"""The pipeline's own logic: follow-up questions resolved against the previous one."""

from __future__ import annotations

from assistant.pipeline import resolve_followup


def test_resolve_followup() -> None:
    first = "市委网信办目前有多少在编人员？"
    assert resolve_followup("那县里呢？", [first]) == "县里网信办目前有多少在编人员？"
    assert resolve_followup("为什么？", [first]) == "市委网信办目前有多少在编人员？为什么？"
    standalone = "省委网络安全和信息化领导小组第三次会议由谁主持？"
    assert resolve_followup(standalone, [first]) == standalone
    assert resolve_followup("那县里呢？", []) == "那县里呢？"
