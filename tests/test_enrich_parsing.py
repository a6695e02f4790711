"""Registry values, identifiers and names (kamlib.enrich.parsing, .uscc, .names), by hand."""

from __future__ import annotations

from datetime import date

import pytest

from kamlib.enrich.names import name_regions, normalise_name, normalise_region
from kamlib.enrich.parsing import (
    headcount_lower_bound,
    nfkc,
    parse_capital,
    parse_date,
    parse_flag,
    parse_headcount,
    parse_int,
)
from kamlib.enrich.uscc import (
    clean_duns,
    is_valid_duns,
    is_valid_uscc,
    uscc_check_char,
    uscc_problem,
)

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def _check_by_hand(body: str) -> str:
    """GB 32100-2015 written out again, independently of the module."""
    total = 0
    for char, weight in zip(body, WEIGHTS, strict=True):
        total += CHARSET.index(char) * weight
    value = 31 - total % 31
    return CHARSET[0 if value == 31 else value]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("77800.32万人民币", (778003200.0, "CNY")),
        ("500万美元", (5000000.0, "USD")),
        ("1.2亿元", (120000000.0, "CNY")),
        ("1000万元人民币", (10000000.0, "CNY")),
        ("１０００万人民币", (10000000.0, "CNY")),  # full-width digits
        ("300万欧元", (3000000.0, "EUR")),
        ("2,500,000", (2500000.0, "CNY")),
        ("USD 5 million", (5000000.0, "USD")),
        ("-", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
        ("暂无", (None, None)),
    ],
)
def test_capital_text_becomes_amount_and_currency(text, expected):
    assert parse_capital(text) == expected


def test_headcount_band_is_kept_with_a_numeric_lower_bound():
    assert parse_headcount(" 5000-9999人 ") == "5000-9999人"
    assert headcount_lower_bound("5000-9999人") == 5000
    assert headcount_lower_bound("10000人以上") == 10000
    assert headcount_lower_bound("小于50人") == 0
    assert headcount_lower_bound("120") == 120
    assert headcount_lower_bound("-") is None
    assert parse_int("1,234人") == 1234
    assert parse_int("约一千") is None


@pytest.mark.parametrize(
    "text",
    ["2001-05-03", "2001/5/3", "2001年5月3日", "2001.05.03", "20010503", "2001-05-03 00:00:00"],
)
def test_registry_dates(text):
    assert parse_date(text) == date(2001, 5, 3)


def test_bad_dates_and_flags_are_missing_not_guessed():
    assert parse_date("2001-02-30") is None
    assert parse_date("去年") is None
    assert parse_flag("是") is True and parse_flag("已上市") is True
    assert parse_flag("600519.SH") is True
    assert parse_flag("否") is False and parse_flag("未上市") is False
    assert parse_flag("也许") is None
    assert nfkc("ＡＢＣ１２３") == "ABC123"


def test_uscc_check_character_against_a_hand_calculation():
    for body in [
        "91310000MA1FL0000",
        "91350100M000100Y4",
        "12100000400000624",
        "9144030071526726X",
    ]:
        assert uscc_check_char(body) == _check_by_hand(body)
        assert is_valid_uscc(body + _check_by_hand(body))
    # published on a business licence (check character 3)
    assert is_valid_uscc("91350100M000100Y43")
    # full-width and lower case are read as the same code
    assert is_valid_uscc("９１３５０１００m０００１００y４３")


def test_invalid_usccs_say_why():
    good = "91350100M000100Y43"
    assert "check character" in uscc_problem(good[:-1] + "4")
    assert "17 characters" in uscc_problem(good[:-1])
    assert "outside" in uscc_problem(good[:5] + "I" + good[6:])  # I is not in the set
    assert "outside" in uscc_problem("91350100M000100S43")  # nor S
    assert uscc_problem(None) is None and uscc_problem("-") is None  # missing is not invalid
    assert not is_valid_uscc(None)


def test_duns_is_nine_digits():
    assert is_valid_duns("12-345-6789") and clean_duns("12-345-6789") == "123456789"
    assert clean_duns("12345678") == "012345678"  # a leading zero lost by a spreadsheet
    assert clean_duns("123456789.0") == "123456789"
    assert not is_valid_duns("12345") and not is_valid_duns("ABCDEFGHI")


@pytest.mark.parametrize(
    ("name", "core"),
    [
        ("华兴机械（上海）股份有限公司", "华兴机械"),
        ("华兴机械(上海)有限公司", "华兴机械"),
        ("上海华兴机械有限公司", "华兴机械"),
        ("上海市华兴机械有限责任公司", "华兴机械"),
        ("华兴机械集团股份有限公司", "华兴机械"),
        ("德信控股集团有限责任公司", "德信"),
        ("德信控股集团有限公司", "德信"),
        ("中国华兴机械有限公司", "华兴机械"),
        ("ＡＢＣ电子（深圳）有限公司", "abc电子"),
        ("Huaxing Machinery Co., Ltd.", "huaxing machinery"),
        ("HUAXING MACHINERY CO LTD", "huaxing machinery"),
        ("Huaxing Machinery (Shanghai) Co., Ltd.", "huaxing machinery"),
        ("Siemens (China) GmbH", "siemens"),
        ("Acme Inc.", "acme"),
        ("Acme Corp.", "acme"),
        ("Acme LLC", "acme"),
    ],
)
def test_names_normalise_to_their_core(name, core):
    assert normalise_name(name) == core


def test_name_keeps_what_is_not_a_region_or_legal_form():
    assert normalise_name("华兴机械(苏州工业园区分部)有限公司") != normalise_name(
        "华兴机械有限公司"
    )
    assert normalise_name("有限公司") == "有限公司"  # nothing left would be no name at all
    assert normalise_name("-") is None


def test_regions_of_a_name_and_normal_regions():
    assert name_regions("华兴机械（苏州）有限公司") == {"苏州"}
    assert name_regions("上海华兴机械有限公司") == {"上海"}
    assert name_regions("华兴机械有限公司") == set()
    assert normalise_region("上海市") == "上海"
    assert normalise_region("广东省") == "广东"
    assert normalise_region("广西壮族自治区") == "广西"
