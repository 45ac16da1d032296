import pytest

from assistant.text.numbers import chinese_number


@pytest.mark.parametrize(
    ("text", "value"),
    [("2016", 2016), ("二〇一六", 2016), ("二0一六", 2016), ("十一", 11), ("二十一", 21), ("三十", 30),
     ("一百零五", 105), ("两千", 2000), ("两", 2), ("十", 10)],
)  # fmt: skip
def test_numerals_read_as_numbers(text: str, value: int) -> None:
    assert chinese_number(text) == value


@pytest.mark.parametrize("text", ["", "x", "十二x", "第三"])
def test_what_is_not_a_numeral_is_none(text: str) -> None:
    assert chinese_number(text) is None
