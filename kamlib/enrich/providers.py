"""Where registry data comes from: a provider returns records and events as frames.

A :class:`RegistryProvider` returns :class:`RegistryData`: ``records`` in the
``firmographics`` column names (without ``account_id`` and the match columns — matching adds
them) and ``events`` in the ``company_events`` names (without ``account_id``).  The
:class:`FileProvider` reads the batch exports users download from their subscription —
CSV, XLSX or Parquet, read by :func:`kamlib.data.readers.read_text_frame` like any import —
through a mapping preset:

- ``tianyancha`` / ``qichacha``: 企业名称 or 公司名称, 统一社会信用代码, 登记状态 (经营状态),
  法定代表人, 注册资本, 实缴资本, 成立日期, 所属省份, 所属城市, 所属区县, 企业类型 or 公司类型,
  所属行业, 参保人数, 人员规模, 曾用名, 英文名称, 企业地址 …;
- ``dnb``: D-U-N-S Number, Primary Name, Trade Style, Country, State/Province, City,
  Employee Count, SIC Code, NAICS Code, Parent D-U-N-S, Street Address …

An events file (change records, penalties, abnormal operation, enforcement …) has a date and
a type column (变更日期 / 事件类型 / 变更前 / 变更后 …) and maps to ``company_events``.  The
preset is found from the headers when not named.  A file that cannot be read, or lacks the
column its kind needs, is one :class:`~kamlib.errors.DataValidationError` naming the file,
the column and the fix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pandas as pd

from kamlib.data.readers import read_text_frame
from kamlib.enrich.parsing import (
    nfkc,
    parse_capital,
    parse_date,
    parse_flag,
    parse_headcount,
    parse_int,
)
from kamlib.enrich.uscc import clean_duns, clean_uscc
from kamlib.errors import DataValidationError

__all__ = [
    "EVENT_COLUMNS",
    "PRESETS",
    "RECORD_COLUMNS",
    "FileProvider",
    "RegistryData",
    "RegistryProvider",
    "detect_kind",
    "event_id",
    "event_type",
]

RECORD_COLUMNS = [
    "source", "retrieved_at", "id_scheme", "company_id", "legal_name", "former_names",
    "english_name", "reg_status", "legal_representative", "company_type", "established",
    "reg_capital", "reg_capital_currency", "paid_in_capital", "paid_in_capital_currency",
    "headcount_band", "insured_headcount", "industry_code", "industry_scheme", "industry",
    "listed", "parent_company_id", "province", "city", "district", "address",
]  # fmt: skip
EVENT_COLUMNS = [
    "event_id",
    "company_id",
    "legal_name",
    "date",
    "type",
    "before",
    "after",
    "source",
    "retrieved_at",
]

_ZH = {
    "legal_name": ("企业名称", "公司名称", "名称", "企业名", "公司"),
    "company_id": ("统一社会信用代码", "信用代码", "社会信用代码", "统一信用代码"),
    "reg_status": ("登记状态", "经营状态", "企业状态"),
    "legal_representative": ("法定代表人", "法人", "法人代表"),
    "reg_capital": ("注册资本",),
    "paid_in_capital": ("实缴资本",),
    "established": ("成立日期", "成立时间", "注册日期"),
    "province": ("所属省份", "省份", "所属地区"),
    "city": ("所属城市", "城市", "地市"),
    "district": ("所属区县", "区县"),
    "company_type": ("企业类型", "公司类型"),
    "industry": ("所属行业", "国标行业", "行业"),
    "industry_code": ("国标行业代码", "行业代码"),
    "insured_headcount": ("参保人数",),
    "headcount_band": ("人员规模",),
    "former_names": ("曾用名",),
    "english_name": ("英文名称", "英文名"),
    "address": ("企业地址", "注册地址", "地址"),
    "listed": ("上市状态", "是否上市", "上市信息"),
    "parent_company_id": ("母公司统一社会信用代码", "控股股东信用代码"),
}
_DNB = {
    "company_id": ("d-u-n-s number", "duns number", "d-u-n-s", "duns"),
    "legal_name": ("primary name", "business name", "company name"),
    "former_names": ("trade style", "trade style name", "former names"),
    "province": ("state/province", "state province", "state", "province"),
    "city": ("city",),
    "address": ("street address", "address line 1", "address"),
    "headcount_band": ("employee count", "employees", "employee count (total)"),
    "industry_code_sic": ("sic code", "us sic code", "primary sic code", "sic"),
    "industry_code_naics": ("naics code", "primary naics code", "naics"),
    "industry": ("sic description", "industry description", "line of business"),
    "parent_company_id": ("parent d-u-n-s", "parent duns", "global ultimate d-u-n-s"),
    "established": ("year started", "start year", "established"),
    "listed": ("public/private indicator", "public indicator"),
    "reg_status": ("operating status", "status"),
    "country": ("country", "country name"),
    "confidence_code": ("confidence code",),
}
_EVENTS = {
    "company_id": ("统一社会信用代码", "信用代码", "company_id", "d-u-n-s number", "duns"),
    "legal_name": ("企业名称", "公司名称", "名称", "company name", "primary name", "legal_name"),
    "date": (
        "变更日期",
        "日期",
        "发生日期",
        "决定日期",
        "立案日期",
        "列入日期",
        "发布日期",
        "event date",
        "date",
    ),
    "type": ("事件类型", "变更事项", "变更类型", "风险类型", "类型", "event type", "type"),
    "before": ("变更前", "变更前内容", "before"),
    "after": ("变更后", "变更后内容", "处罚内容", "内容", "after", "details"),
    "event_id": ("事件id", "事件编号", "记录id", "event id", "event_id"),
}
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "tianyancha": _ZH,
    "qichacha": _ZH,
    "dnb": _DNB,
    "events": _EVENTS,
}
#: event type words → COMPANY_EVENT_TYPES (first hit wins: 失信被执行人 before 被执行人)
_EVENT_WORDS = [
    ("dishonest_debtor", ("失信", "dishonest")),
    ("enforcement", ("被执行", "强制执行", "终本", "enforcement")),
    ("abnormal_operation", ("经营异常", "异常经营", "abnormal")),
    ("penalty", ("行政处罚", "处罚", "penalty", "fine")),
    (
        "legal_representative_change",
        ("法定代表人", "法人变更", "负责人变更", "legal representative"),
    ),
    ("name_change", ("名称变更", "企业名称", "更名", "name change", "name")),
    ("capital_change", ("注册资本", "减资", "增资", "资本变更", "capital")),
]


def _norm_header(value: object) -> str:
    return re.sub(r"\s+", " ", str(nfkc(value) or "")).strip().lower().lstrip("*")


def event_type(value: object) -> str:
    """A registry's event wording → one of the ``company_events`` types (``other`` when none
    fits): 经营异常 → abnormal_operation, 失信被执行人 → dishonest_debtor, 减资 → capital_change …"""
    text = (nfkc(value) or "").lower()
    for kind, words in _EVENT_WORDS:
        if any(w in text for w in words):
            return kind
    return "other"


def event_id(company_id: object, date: object, kind: str, before: object, after: object) -> str:
    """A stable id for an event an export gives none: a hash of company, date, type, before
    and after (the same event read twice gets the same id)."""
    text = "\x1f".join(str(nfkc(v) or "") for v in (company_id, date, kind, before, after))
    return "ev-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RegistryData:
    """Records (firmographics columns without account_id and match columns, plus ``_file``
    and ``_row``) and events (:data:`EVENT_COLUMNS` plus ``_file``, ``_row``) from one
    retrieval."""

    records: pd.DataFrame
    events: pd.DataFrame
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


class RegistryProvider(Protocol):
    """Anything that returns registry data for one retrieval (a file export, an API)."""

    name: str

    def fetch(self) -> RegistryData:
        """The records and events of this retrieval."""
        ...


def _columns_for(headers: Sequence[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    found: dict[str, str] = {}
    normal = {_norm_header(h): h for h in headers}
    for field_name, names in aliases.items():
        for name in names:
            if name.lower() in normal:
                found[field_name] = normal[name.lower()]
                break
    return found


def detect_kind(path: Path, headers: Sequence[str]) -> str:
    """``events``, ``dnb`` or ``tianyancha`` (Chinese company export) from the headers."""
    norm = {_norm_header(h) for h in headers}
    ev = _columns_for(headers, _EVENTS)
    if "type" in ev and "date" in ev and not ({"注册资本", "成立日期"} & norm):
        return "events"
    if _columns_for(headers, _DNB).keys() >= {"company_id"} and (
        {"d-u-n-s number", "primary name", "duns number"} & norm
    ):
        return "dnb"
    if "公司名称" in norm and "企业名称" not in norm:
        return "qichacha"
    return "tianyancha"


class FileProvider:
    """Registry exports from files.

    Parameters
    ----------
    paths : files (CSV/TSV, XLSX, Parquet; company exports and events files, mixed)
    retrieved_at : when the export was taken (the CLI passes the time of the run)
    preset : ``tianyancha``, ``qichacha``, ``dnb`` for every company file; ``None`` finds it
        from each file's headers
    encoding : the CSV encoding when detection should not decide (``gbk``)
    """

    name = "file"

    def __init__(
        self,
        paths: Sequence[str | Path],
        *,
        retrieved_at: str | pd.Timestamp,
        preset: str | None = None,
        encoding: str | None = None,
    ) -> None:
        if preset is not None and preset not in ("tianyancha", "qichacha", "dnb"):
            raise DataValidationError(
                f"The 'preset' parameter of FileProvider must be tianyancha, qichacha or dnb. Got {preset!r} instead."
            )
        self.paths = [Path(p) for p in paths]
        self.retrieved_at = pd.Timestamp(retrieved_at).floor("s")
        self.preset = preset
        self.encoding = encoding

    def fetch(self) -> RegistryData:
        """Read every file; records and events in canonical names."""
        hints = frozenset(
            _norm_header(h) for a in PRESETS.values() for names in a.values() for h in names
        )
        records, events, notes = [], [], []
        kinds: set[str] = set()
        for path in self.paths:
            frame = read_text_frame(path, encoding=self.encoding, header_hints=hints)
            headers = [c for c in frame.columns if c != "_row"]
            kind = detect_kind(path, headers)
            if kind == "events":
                events.append(self._events(path, frame, headers))
            else:
                kind = self.preset or kind
                kinds.add(kind)
                records.append(self._records(path, frame, headers, kind))
            notes.append(f"{path.name}: {kind}, {len(frame):,} rows")
        # an events file names no registry: it is the company export's, when the run has one
        # kind of company export (or a preset); otherwise its source stays "events"
        source = self.preset or (next(iter(kinds)) if len(kinds) == 1 else "events")
        for frame in events:
            frame["source"] = source
        rec = (
            pd.concat(records, ignore_index=True)
            if records
            else pd.DataFrame(columns=[*RECORD_COLUMNS, "_file", "_row"])
        )
        ev = (
            pd.concat(events, ignore_index=True)
            if events
            else pd.DataFrame(columns=[*EVENT_COLUMNS, "_file", "_row"])
        )
        return RegistryData(rec, ev, tuple(str(p) for p in self.paths), tuple(notes))

    def _records(
        self, path: Path, frame: pd.DataFrame, headers: list[str], kind: str
    ) -> pd.DataFrame:
        aliases = PRESETS[kind]
        cols = _columns_for(headers, aliases)
        key = "company_id" if kind == "dnb" else "legal_name"
        if key not in cols:
            wanted = " or ".join(aliases[key][:3])
            raise DataValidationError(
                f"{path}: no {wanted} column (the {kind} export's key column); it has "
                f"{', '.join(headers[:12])}. Export the file again with that column, or rename "
                f"the column holding the {key.replace('_', ' ')} to {aliases[key][0]}."
            )
        get = _Column(frame, cols)
        out = pd.DataFrame(index=frame.index)
        out["source"] = kind
        out["retrieved_at"] = self.retrieved_at
        if kind == "dnb":
            out["id_scheme"] = "duns"
            out["company_id"] = [clean_duns(v) for v in get("company_id")]
            out["parent_company_id"] = [clean_duns(v) for v in get("parent_company_id")]
            sic, naics = get("industry_code_sic"), get("industry_code_naics")
            out["industry_code"] = [nfkc(n) or nfkc(s) for n, s in zip(naics, sic, strict=True)]
            out["industry_scheme"] = [
                "NAICS" if nfkc(n) else ("SIC" if nfkc(s) else None)
                for n, s in zip(naics, sic, strict=True)
            ]
            out["headcount_band"] = [parse_headcount(v) for v in get("headcount_band")]
            out["insured_headcount"] = pd.array([None] * len(frame), dtype="Int64")
            out["established"] = [_year_or_date(v) for v in get("established")]
        else:
            out["id_scheme"] = "uscc"
            out["company_id"] = [clean_uscc(v) for v in get("company_id")]
            out["parent_company_id"] = [clean_uscc(v) for v in get("parent_company_id")]
            out["industry_code"] = [nfkc(v) for v in get("industry_code")]
            out["industry_scheme"] = [
                "GB/T 4754" if nfkc(v) else None for v in get("industry_code")
            ]
            out["headcount_band"] = [parse_headcount(v) for v in get("headcount_band")]
            out["insured_headcount"] = pd.array(
                [parse_int(v) for v in get("insured_headcount")], dtype="Int64"
            )
            out["established"] = [parse_date(v) for v in get("established")]
        for f in ("legal_name", "former_names", "english_name", "reg_status", "legal_representative",
                  "company_type", "industry", "province", "city", "district", "address"):  # fmt: skip
            out[f] = [nfkc(v) for v in get(f)]
        for f in ("reg_capital", "paid_in_capital"):
            parsed = [parse_capital(v) for v in get(f)]
            out[f] = [a for a, _ in parsed]
            out[f + "_currency"] = [c for _, c in parsed]
        out["listed"] = pd.array([parse_flag(v) for v in get("listed")], dtype="boolean")
        out["established"] = pd.to_datetime(out["established"])
        out = out[RECORD_COLUMNS].copy()
        out["_file"] = path.name
        out["_row"] = frame["_row"].to_numpy()
        return out

    def _events(self, path: Path, frame: pd.DataFrame, headers: list[str]) -> pd.DataFrame:
        cols = _columns_for(headers, _EVENTS)
        if "company_id" not in cols and "legal_name" not in cols:
            raise DataValidationError(
                f"{path}: an events file needs 统一社会信用代码 or 企业名称 to say whose event it "
                f"is; it has {', '.join(headers[:12])}. Add the column and export again."
            )
        get = _Column(frame, cols)
        out = pd.DataFrame(index=frame.index)
        out["company_id"] = [clean_uscc(v) for v in get("company_id")]
        out["legal_name"] = [nfkc(v) for v in get("legal_name")]
        out["date"] = pd.to_datetime([parse_date(v) for v in get("date")])
        out["type"] = [event_type(v) for v in get("type")]
        out["before"] = [nfkc(v) for v in get("before")]
        out["after"] = [nfkc(v) for v in get("after")]
        given = [nfkc(v) for v in get("event_id")]
        out["event_id"] = [
            g or event_id(c or n, d, t, b, a)
            for g, c, n, d, t, b, a in zip(given, out["company_id"], out["legal_name"], out["date"], out["type"], out["before"], out["after"], strict=True)
        ]  # fmt: skip
        out["source"] = "events"
        out["retrieved_at"] = self.retrieved_at
        out = out[EVENT_COLUMNS].copy()
        out["_file"] = path.name
        out["_row"] = frame["_row"].to_numpy()
        return out


class _Column:
    """The file's column for a canonical field, or an empty column when the file lacks it."""

    def __init__(self, frame: pd.DataFrame, cols: dict[str, str]) -> None:
        self.frame, self.cols = frame, cols

    def __call__(self, name: str) -> pd.Series:
        if name in self.cols:
            return self.frame[self.cols[name]]
        return pd.Series(None, index=self.frame.index, dtype=object)


def _year_or_date(value: object):
    text = nfkc(value)
    if text and re.fullmatch(r"\d{4}", text):
        return pd.Timestamp(int(text), 1, 1).date()
    return parse_date(value)
