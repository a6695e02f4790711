"""Normalised company names, for matching registry records to accounts.

``normalise_name("华兴机械（上海）股份有限公司")`` and ``normalise_name("上海华兴机械有限公司")``
both give ``"华兴机械"``; ``normalise_name("Huaxing Machinery Co., Ltd.")`` gives
``"huaxing machinery"``.  The steps: Unicode NFKC (full-width → half-width), brackets
unified and a region in brackets removed, legal-form suffixes removed (股份有限公司,
有限责任公司, 有限公司, 集团, Co., Ltd., Inc., GmbH, Corp., LLC …), a region prefix or suffix
removed (provinces and major cities), case, whitespace and punctuation folded.
:func:`name_regions` returns the regions a name mentions, which the matcher uses as a city.
"""

from __future__ import annotations

import re

from kamlib.enrich.parsing import nfkc

__all__ = ["PROVINCES", "CITIES", "name_regions", "normalise_name", "normalise_region"]

PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
    "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港",
    "澳门",
)  # fmt: skip
CITIES = (
    "深圳", "广州", "东莞", "佛山", "珠海", "中山", "惠州", "杭州", "宁波", "温州", "绍兴",
    "嘉兴", "湖州", "台州", "金华", "苏州", "无锡", "常州", "南京", "南通", "扬州", "徐州",
    "昆山", "合肥", "芜湖", "济南", "青岛", "烟台", "潍坊", "淄博", "郑州", "洛阳", "武汉",
    "长沙", "成都", "西安", "沈阳", "大连", "长春", "哈尔滨", "石家庄", "唐山", "太原",
    "福州", "厦门", "泉州", "南昌", "南宁", "昆明", "贵阳", "兰州", "乌鲁木齐", "呼和浩特",
    "银川", "西宁", "拉萨", "海口", "三亚", "天津", "重庆", "北京", "上海", "保定", "襄阳",
    "株洲", "宝鸡", "绵阳", "镇江", "泰州", "盐城", "淮安", "连云港", "宿迁", "舟山", "丽水",
    "衢州", "芜湖", "蚌埠", "马鞍山", "威海", "日照", "临沂", "济宁", "泰安", "德州", "聊城",
    "滨州", "东营", "漳州", "莆田", "江门", "湛江", "茂名", "肇庆", "汕头", "揭阳", "潮州",
    "清远", "韶关", "梅州", "河源", "柳州", "桂林", "宜昌", "荆州", "十堰", "黄石", "岳阳",
    "衡阳", "常德", "湘潭", "新乡", "许昌", "南阳", "开封", "安阳", "焦作", "九江", "赣州",
    "景德镇", "上饶", "德阳", "宜宾", "泸州", "南充", "遵义", "曲靖", "玉溪", "咸阳", "榆林",
    "延安", "天水", "鞍山", "抚顺", "本溪", "丹东", "锦州", "营口", "吉林", "四平", "大庆",
    "齐齐哈尔", "牡丹江", "包头", "鄂尔多斯", "秦皇岛", "邯郸", "邢台", "廊坊", "沧州", "承德",
    "张家口", "大同", "长治", "晋城", "江阴", "张家港", "常熟", "义乌", "慈溪", "余姚", "昆山",
)  # fmt: skip
_EN_REGIONS = (
    "beijing", "shanghai", "tianjin", "chongqing", "guangdong", "guangzhou", "shenzhen",
    "jiangsu", "suzhou", "nanjing", "wuxi", "zhejiang", "hangzhou", "ningbo", "shandong",
    "qingdao", "jinan", "hubei", "wuhan", "hunan", "changsha", "sichuan", "chengdu", "xian",
    "shaanxi", "fujian", "xiamen", "fuzhou", "anhui", "hefei", "henan", "zhengzhou", "liaoning",
    "dalian", "shenyang", "dongguan", "foshan", "hong kong", "china",
)  # fmt: skip
_REGIONS = tuple(sorted(set(PROVINCES + CITIES), key=len, reverse=True))
_ADMIN = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
_ZH_SUFFIXES = (
    "股份有限公司", "有限责任公司", "股份公司", "有限公司", "集团有限公司", "集团公司",
    "控股集团", "集团", "控股", "总公司", "分公司", "公司", "厂",
)  # fmt: skip
_EN_SUFFIXES = (
    "co", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "company", "gmbh",
    "llc", "plc", "ag", "sa", "srl", "bv", "kg", "pte", "pty", "group", "holdings", "holding",
    "co ltd", "the",
)  # fmt: skip
_BRACKET = re.compile(r"[\(\[【〔](.*?)[\)\]】〕]")


def _strip_admin(region: str) -> str:
    for suffix in _ADMIN:
        if region.endswith(suffix) and len(region) > len(suffix) + 1:
            return region[: -len(suffix)]
    return region


def normalise_region(value: object) -> str | None:
    """A province or city as its short form: "上海市" → "上海", "广东省" → "广东",
    "Shanghai" → "shanghai"; missing → ``None``."""
    text = nfkc(value)
    if text is None:
        return None
    text = re.sub(r"\s+", "", text)
    return _strip_admin(text).lower() or None


def name_regions(value: object) -> set[str]:
    """The provinces and cities a company name mentions (in brackets, as prefix or suffix)."""
    text = nfkc(value)
    if not text:
        return set()
    text = text.replace("（", "(").replace("）", ")")
    found = set()
    for inner in _BRACKET.findall(text):
        r = _strip_admin(inner.strip())
        if r in _REGIONS:
            found.add(r)
    head = _BRACKET.sub("", text)
    for region in _REGIONS:
        if head.startswith(region):
            found.add(region)
            break
    low = text.lower()
    found.update(r for r in _EN_REGIONS if re.search(rf"\b{r}\b", low) and r != "china")
    return found


def normalise_name(value: object) -> str | None:
    """The comparable core of a company name (see the module docstring); ``None`` when
    nothing is left."""
    text = nfkc(value)
    if text is None:
        return None
    text = text.replace("（", "(").replace("）", ")").replace("【", "[").replace("】", "]")
    # a bracket holding a region (or nothing but a legal form / branch note) goes
    text = _BRACKET.sub(lambda m: _bracket_keep(m.group(1)), text)
    if re.search(r"[\u4e00-\u9fff]", text):
        return _normalise_zh(text)
    return _normalise_en(text)


def _bracket_keep(inner: str) -> str:
    core = _strip_admin(inner.strip())
    if core in _REGIONS or core.lower() in _EN_REGIONS or core.lower() in ("china", "中国"):
        return " "
    return " " + inner + " "


_REGION_ALT = "|".join(map(re.escape, _REGIONS))
_REGION_HEAD = re.compile(rf"^(?:{_REGION_ALT})(?:市|省)?")
_REGION_TAIL = re.compile(rf"(?:{_REGION_ALT})(?:市|省)?$")
_SUFFIX_TAIL = re.compile(
    "(?:" + "|".join(map(re.escape, sorted(_ZH_SUFFIXES, key=len, reverse=True))) + ")$"
)


def _normalise_zh(text: str) -> str | None:
    text = re.sub(r"[\s·•.,，、\-—_'\"“”‘’&()（）\[\]]+", "", text).lower()
    for _ in range(3):  # suffixes stack: 华兴机械集团股份有限公司
        before = text
        m = _SUFFIX_TAIL.search(text)
        if m and m.start() > 1:
            text = text[: m.start()]
        # a region prefix (上海华兴机械) or suffix (华兴机械上海, rare)
        m = _REGION_HEAD.match(text)
        if m and len(text) - m.end() > 1:
            text = text[m.end() :]
        else:
            m = _REGION_TAIL.search(text)
            if m and m.start() > 1:
                text = text[: m.start()]
        if text.startswith("中国") and len(text) > 3:
            text = text[2:]
        if text == before:
            break
    return text or None


def _normalise_en(text: str) -> str | None:
    text = text.lower().replace("&", " and ")
    text = re.sub(r"[^\w\s]", " ", text)
    words = text.split()
    while words and words[-1] in _EN_SUFFIXES:
        words.pop()
    while words and words[0] in ("the",):
        words.pop(0)
    joined = " ".join(words)
    for region in _EN_REGIONS:
        if joined.startswith(region + " ") and len(joined) > len(region) + 3:
            joined = joined[len(region) + 1 :]
        if joined.endswith(" " + region) and len(joined) > len(region) + 3:
            joined = joined[: -len(region) - 1]
    words = joined.split()
    while words and words[-1] in _EN_SUFFIXES:
        words.pop()
    return " ".join(words) or None
