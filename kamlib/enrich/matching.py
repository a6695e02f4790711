"""Match registry records to accounts: by code when both sides have one, else by name and place.

The order of evidence
---------------------
1. **Overrides** (a reviewed decision: ``account_id``, ``company_id`` or ``legal_name``,
   ``decision`` accept/reject) always win: an accepted pair is matched (method
   ``override``), a rejected pair is never proposed again.
2. **USCC**: a record whose 统一社会信用代码 fails the GB 32100-2015 check is *quarantined*
   with the reason and never matched.  A valid code equal to an account's valid code
   matches (confidence 1.0, method ``uscc``); when both sides have valid codes that differ,
   the pair is not a candidate, whatever the names say.
3. **D-U-N-S** likewise (9 digits; method ``duns``, confidence 1.0).
4. **Names**: the normalised legal name, former names and English name of the record
   against the account's normalised name (:func:`kamlib.enrich.names.normalise_name`),
   scored with the place: the same city (or a region the names mention) raises the score
   (method ``name+city``), a different city rules the pair out, no city to compare leaves
   the name alone (method ``name``).

A record with two equally good accounts, or an account with two equally good records (two
华兴机械 in different cities and an account that names no city), goes to the **review list**
and is never accepted automatically.  Every record ends in exactly one of matched,
ambiguous, unmatched or quarantined, so ``read = matched + ambiguous + unmatched +
quarantined``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from kamlib.enrich.names import name_regions, normalise_name, normalise_region
from kamlib.enrich.parsing import nfkc
from kamlib.enrich.uscc import clean_duns, clean_uscc, is_valid_duns, is_valid_uscc, uscc_problem
from kamlib.errors import DataValidationError

__all__ = [
    "ACCEPT_SCORE",
    "MatchResult",
    "REVIEW_COLUMNS",
    "match_records",
    "split_names",
]

#: The lowest name score accepted without review.
ACCEPT_SCORE = 0.6
#: Two candidates closer than this are equally good (the pair goes to review).
TIE_MARGIN = 0.05
REVIEW_COLUMNS = [
    "record", "legal_name", "company_id", "province", "city", "account_id", "account_name",
    "account_city", "score", "method", "reason",
]  # fmt: skip
OVERRIDE_DECISIONS = ("accept", "reject")


@dataclass(frozen=True)
class MatchResult:
    """What matching did with every record.

    ``matched``: the records (their own columns, ``record`` = row position in the input)
    with ``account_id``, ``match_confidence`` and ``match_method``.  ``review``: one row per
    (ambiguous record, candidate account) (:data:`REVIEW_COLUMNS`).  ``quarantine``: the
    records refused (``record``, ``column``, ``value``, ``reason``).  ``unmatched``: the
    records no account fits.
    """

    matched: pd.DataFrame
    review: pd.DataFrame
    quarantine: pd.DataFrame
    unmatched: pd.DataFrame
    read: int
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """``read``, ``matched``, ``ambiguous``, ``unmatched``, ``quarantined``."""
        return {"read": self.read, **self.counts}


def split_names(value: object) -> list[str]:
    """Former names as a list: "甲公司；乙公司" / "a;b" / "a|b" / "a、b" / newlines."""
    text = nfkc(value)
    if not text:
        return []
    return [p.strip() for p in re.split(r"[;；|\n、]+", text) if p.strip()]


def _place(*values: object) -> set[str]:
    return {r for v in values if (r := normalise_region(v))}


def _account_view(accounts: pd.DataFrame) -> pd.DataFrame:
    acc = pd.DataFrame({"account_id": accounts["account_id"].astype(str)})
    col = lambda c: accounts[c] if c in accounts else pd.Series(None, index=accounts.index)  # noqa: E731
    acc["name"] = col("name").to_numpy()
    acc["key"] = [normalise_name(n) for n in col("name")]
    acc["uscc"] = [u if is_valid_uscc(u) else None for u in (clean_uscc(v) for v in col("uscc"))]
    acc["duns"] = [d if is_valid_duns(d) else None for d in (clean_duns(v) for v in col("duns"))]
    acc["city_n"] = [normalise_region(c) for c in col("city")]
    acc["province_n"] = [normalise_region(p) for p in col("province")]
    acc["regions"] = [name_regions(n) for n in col("name")]
    acc["city"] = col("city").to_numpy()
    return acc.reset_index(drop=True)


def _name_score(
    rec: pd.Series, rec_keys: dict[str, float], acc: pd.Series
) -> tuple[float, str] | None:
    base = rec_keys.get(acc["key"])
    if base is None:
        return None
    r_city = _place(rec.get("city")) | (
        name_regions(rec.get("legal_name")) - _place(rec.get("province"))
    )
    a_prov = _place(acc["province_n"])
    a_city = _place(acc["city_n"]) | (acc["regions"] - a_prov)
    r_prov = _place(rec.get("province"))
    if r_city and a_city:
        if r_city & a_city:
            return min(1.0, base + 0.15), "name+city"
        if (r_city & a_prov) or (a_city & r_prov):
            return base, "name"
        return None  # the same name in another city is another company
    if r_prov and a_prov and not (r_prov & a_prov):
        return None
    bonus = 0.05 if (r_prov & a_prov) else 0.0
    return base + bonus, "name"


def _record_keys(rec: pd.Series) -> dict[str, float]:
    keys: dict[str, float] = {}
    for name, weight in [(rec.get("legal_name"), 0.8), (rec.get("english_name"), 0.75)]:
        if (k := normalise_name(name)) and keys.get(k, 0) < weight:
            keys[k] = weight
    for former in split_names(rec.get("former_names")):
        if (k := normalise_name(former)) and k not in keys:
            keys[k] = 0.7
    return keys


def _override_table(overrides: pd.DataFrame | None, account_ids: set[str]) -> pd.DataFrame:
    cols = ["account_id", "company_id", "legal_name", "decision"]
    if overrides is None or overrides.empty:
        return pd.DataFrame(columns=cols)
    ov = overrides.copy()
    for c in cols:
        if c not in ov:
            ov[c] = None
    if "account_id" not in overrides or not ({"company_id", "legal_name"} & set(overrides)):
        raise DataValidationError(
            "The overrides file needs the columns account_id, company_id or legal_name, and "
            f"decision (accept/reject); it has {', '.join(map(str, overrides.columns))}."
        )
    ov["decision"] = [str(nfkc(d) or "").lower() for d in ov["decision"]]
    bad = ov[~ov["decision"].isin(OVERRIDE_DECISIONS)]
    if len(bad):
        raise DataValidationError(
            f"Overrides row {bad.index[0] + 2}: decision {bad['decision'].iloc[0]!r} is not "
            "accept or reject. Fix the overrides file."
        )
    unknown = sorted(set(ov["account_id"].astype(str)) - account_ids)
    if unknown:
        raise DataValidationError(
            f"Overrides name account(s) not in the store: {', '.join(unknown[:5])}. Fix the "
            "overrides file (account_id is the store's account id)."
        )
    ov["company_id"] = [clean_uscc(v) for v in ov["company_id"]]
    ov["legal_name"] = [nfkc(v) for v in ov["legal_name"]]
    ov["account_id"] = ov["account_id"].astype(str)
    return ov[cols]


def _overrides_for(ov: pd.DataFrame, rec: pd.Series) -> pd.DataFrame:
    if ov.empty:
        return ov
    cid, name = clean_uscc(rec.get("company_id")), nfkc(rec.get("legal_name"))
    hit = (ov["company_id"].notna() & (ov["company_id"] == cid)) | (
        ov["legal_name"].notna() & (ov["legal_name"] == name)
    )
    return ov[hit]


def match_records(
    records: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    overrides: pd.DataFrame | None = None,
) -> MatchResult:
    """Match registry ``records`` (firmographics columns, without ``account_id``) to
    ``accounts`` (``account_id``, ``name`` and, when kept, ``uscc``, ``duns``, ``province``,
    ``city``).

    Returns
    -------
    MatchResult
        ``matched`` adds ``record``, ``account_id``, ``match_confidence`` (0–1),
        ``match_method`` (uscc, duns, name, name+city, override) to the record's columns.

    Examples
    --------
    >>> result = match_records(records, data.accounts, overrides=reviewed)
    >>> result.summary()   # {'read': 120, 'matched': 101, 'ambiguous': 4, ...}
    """
    recs = records.reset_index(drop=True)
    acc = _account_view(accounts)
    ov = _override_table(overrides, set(acc["account_id"]))
    by_uscc = acc.dropna(subset=["uscc"]).groupby("uscc")["account_id"].apply(list).to_dict()
    by_duns = acc.dropna(subset=["duns"]).groupby("duns")["account_id"].apply(list).to_dict()
    by_key = acc.dropna(subset=["key"]).groupby("key").groups
    acc_by_id = acc.set_index("account_id", drop=False)

    quarantine: list[dict] = []
    proposals: dict[int, list[tuple[str, float, str]]] = {}  # record → [(account, score, method)]
    fixed: dict[int, tuple[str, float, str]] = {}  # overrides: record → decision
    for i, rec in recs.iterrows():
        scheme = nfkc(rec.get("id_scheme")) or "uscc"
        cid = rec.get("company_id")
        problem = uscc_problem(cid) if scheme == "uscc" else None
        if problem:
            quarantine.append(
                {
                    "record": i,
                    "column": "company_id",
                    "value": nfkc(cid),
                    "reason": f"invalid USCC: {problem}",
                }
            )
            continue
        mine = _overrides_for(ov, rec)
        accepted = mine[mine["decision"] == "accept"]["account_id"].tolist()
        rejected = set(mine[mine["decision"] == "reject"]["account_id"])
        if accepted:
            fixed[i] = (accepted[0], 1.0, "override")
            continue
        uscc = clean_uscc(cid) if scheme == "uscc" and is_valid_uscc(cid) else None
        duns = clean_duns(cid) if scheme == "duns" and is_valid_duns(cid) else None
        code_hits = [
            a
            for a in (by_uscc.get(uscc, []) if uscc else [])
            + (by_duns.get(duns, []) if duns else [])
            if a not in rejected
        ]
        if code_hits:
            method = "uscc" if uscc else "duns"
            proposals[i] = [(a, 1.0, method) for a in dict.fromkeys(code_hits)]
            continue
        cands = []
        keys = _record_keys(rec)
        for key in keys:
            for pos in by_key.get(key, []):
                a = acc.loc[pos]
                if a["account_id"] in rejected:
                    continue
                a_uscc, a_duns = nfkc(a["uscc"]), nfkc(a["duns"])
                if (uscc and a_uscc and a_uscc != uscc) or (duns and a_duns and a_duns != duns):
                    continue  # both codes known and different: another company
                scored = _name_score(rec, keys, a)
                if scored and scored[0] >= ACCEPT_SCORE:
                    cands.append((a["account_id"], round(scored[0], 3), scored[1]))
        best: dict[str, tuple[str, float, str]] = {}
        for c in cands:
            if c[0] not in best or c[1] > best[c[0]][1]:
                best[c[0]] = c
        if best:
            proposals[i] = sorted(best.values(), key=lambda c: -c[1])

    ambiguous: dict[int, str] = {}
    chosen: dict[int, tuple[str, float, str]] = dict(fixed)
    for i, cands in proposals.items():
        top = cands[0][1]
        tied = [c for c in cands if c[1] >= top - TIE_MARGIN]
        if len(tied) > 1:
            ambiguous[i] = f"{len(tied)} accounts fit equally well"
        else:
            chosen[i] = cands[0]
    # an account claimed by two records: the clearly better one wins, equals go to review
    by_account: dict[tuple[str, object], list[int]] = {}
    for i, (a, _, _) in chosen.items():  # one record per account and source
        by_account.setdefault((a, recs.at[i, "source"] if "source" in recs else None), []).append(i)
    unmatched_note: dict[int, str] = {}
    for (a, _source), rows in by_account.items():
        if len(rows) < 2:
            continue
        auto = [i for i in rows if i not in fixed]
        if any(i in fixed for i in rows):
            for i in auto:
                del chosen[i]
                unmatched_note[i] = f"account {a} is matched by an override"
            continue
        scores = sorted(((chosen[i][1], i) for i in auto), reverse=True)
        top = scores[0][0]
        tied = [i for s, i in scores if s >= top - TIE_MARGIN]
        for _score, i in scores:
            if i in tied and len(tied) > 1:
                ambiguous[i] = f"account {a} fits {len(tied)} records equally well"
                proposals[i] = [chosen[i]]
                del chosen[i]
            elif i not in tied:
                del chosen[i]
                unmatched_note[i] = f"account {a} fits another record better"

    matched_rows = sorted(chosen)
    matched = recs.loc[matched_rows].copy()
    matched.insert(0, "record", matched_rows)
    matched["account_id"] = [chosen[i][0] for i in matched_rows]
    matched["match_confidence"] = [float(chosen[i][1]) for i in matched_rows]
    matched["match_method"] = [chosen[i][2] for i in matched_rows]
    review_rows = []
    for i in sorted(ambiguous):
        rec = recs.loc[i]
        for a, score, method in proposals[i]:
            account = acc_by_id.loc[a]
            review_rows.append({
                "record": i, "legal_name": nfkc(rec.get("legal_name")), "company_id": nfkc(rec.get("company_id")),
                "province": nfkc(rec.get("province")), "city": nfkc(rec.get("city")),
                "account_id": a, "account_name": account["name"], "account_city": nfkc(account["city"]),
                "score": score, "method": method, "reason": ambiguous[i],
            })  # fmt: skip
    review = pd.DataFrame(review_rows, columns=REVIEW_COLUMNS)
    quarantined = pd.DataFrame(quarantine, columns=["record", "column", "value", "reason"])
    done = set(chosen) | set(ambiguous) | set(quarantined["record"])
    rest = [i for i in range(len(recs)) if i not in done]
    unmatched = recs.loc[rest].copy()
    unmatched.insert(0, "record", rest)
    unmatched["note"] = [unmatched_note.get(i) for i in rest]
    counts = {
        "matched": len(matched), "ambiguous": len(ambiguous),
        "unmatched": len(unmatched), "quarantined": len(quarantined),
    }  # fmt: skip
    assert sum(counts.values()) == len(recs), "match counts must reconcile"
    return MatchResult(
        matched.reset_index(drop=True),
        review,
        quarantined,
        unmatched.reset_index(drop=True),
        len(recs),
        counts,
    )
