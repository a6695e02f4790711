"""Target groups (客户目标组): which accounts a report, a batch or an analysis is about.

Built-in groups (``target_group(data, name, as_of=...)``):

``all``
    every account that exists on the as-of date.
``top<N>`` (``top10``, ``top50`` …)
    the N accounts with the highest trailing-12-month revenue as of the date (net order
    amounts, returns included); accounts without positive revenue are left out; ties are
    broken by ``account_id``.
``strategic``
    the accounts of the methodology's **Strategic tier** (the tier keyed ``strategic``,
    else the highest tier) as scored by :func:`kamlib.scoring.score_accounts` on
    :func:`kamlib.features.account_features` as of the date, best score first.  It falls
    back to the **revenue Pareto head** — the fewest top accounts (same order as
    ``top<N>``) whose trailing-12-month revenue makes up at least 50% of the total — when
    the tier cannot stand: ``kamlib.scoring`` / ``kamlib.features`` cannot be imported,
    the methodology has no ``scoring`` section, or the data leave indicators carrying more
    than 25% of the scoring weight (:data:`MAX_UNMEASURED_WEIGHT`) without a value for any
    account (e.g. an orders-only export without firmographics, pipeline or contacts: a
    score that is mostly missing-value rules does not define key accounts).  The fallback
    is announced with a :class:`~kamlib.errors.DataQualityWarning`.
``ids:A,B,C``
    exactly these accounts, in this order (duplicates dropped); an id that is not an account
    on the as-of date is an error.

Named groups come from the methodology file's ``segments.groups`` (a rule over features,
tags, scores, ABC class, RFM segment or portfolio quadrant; a list of tiers; or a named
built-in) and can be used wherever a group name is asked for.  :func:`define_target_group`
defines one in code; :func:`resolve_target_group` forms any group as of a date into a
:class:`TargetGroup` — name, definition, date, data snapshot and members — whose
:meth:`TargetGroup.to_frame` and :meth:`TargetGroup.record` are the rows a store keeps.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.errors import ConfigError, DataQualityWarning, DataValidationError
from kamlib.features import account_features
from kamlib.frames import require_columns
from kamlib.methodology import (
    BUILTIN_GROUP,
    GroupDefinition,
    Methodology,
    group_definition,
    resolve_methodology,
)
from kamlib.methodology.rules import parse_rule
from kamlib.periods import parse_date, trailing_window
from kamlib.scoring import ScoreResult, score_accounts
from kamlib.segmentation._frames import account_frame

__all__ = [
    "GROUPS_HELP",
    "MAX_UNMEASURED_WEIGHT",
    "MEMBER_COLUMNS",
    "RECORD_COLUMNS",
    "TargetGroup",
    "check_group_name",
    "define_target_group",
    "resolve_target_group",
    "target_group",
]

GROUPS_HELP = "all, top<N> (e.g. top10), strategic, ids:A,B,C"
STRATEGIC_REVENUE_SHARE = 0.5
#: ``strategic`` falls back to the revenue Pareto head when the indicators that no account
#: has a value for carry more than this share of the scoring weight.
MAX_UNMEASURED_WEIGHT = 0.25
#: Columns of :meth:`TargetGroup.to_frame` (membership rows).
MEMBER_COLUMNS = ["group", "as_of", "snapshot", "methodology", "account_id", "position"]
#: Columns of :meth:`TargetGroup.record` (one row per group formed).
RECORD_COLUMNS = [
    "group", "kind", "definition", "rule", "label_en", "label_zh", "description", "as_of",
    "snapshot", "methodology", "basis", "members",
]  # fmt: skip

_TOP = re.compile(r"^top(\d+)$")
_SCORE_FIELDS = ("score", "rank", "tier")


# -- the built-in groups (the report engine's --for) ------------------------------------------
def target_group(
    data: KamData, name: str, *, as_of: date | str, methodology: Methodology | None = None
) -> pd.DataFrame:
    """The accounts of target group ``name`` as of ``as_of``.

    Parameters
    ----------
    data
        The data set; needs ``accounts`` (and ``orders`` for ``top<N>`` / ``strategic``).
    name
        ``all``, ``top<N>``, ``strategic``, ``ids:A,B,C`` (see the module docstring) or a
        group of the methodology file's ``segments.groups``.
    as_of
        The date the group is formed at: accounts created later and orders after it are
        ignored; revenue is summed over the 12 months ending on it.
    methodology
        The methodology whose tiers and named groups apply (kamlib's default when
        ``None``).

    Returns
    -------
    pd.DataFrame
        Columns ``account_id`` and ``name`` (text), one row per account, in group order
        (by revenue for ``top<N>`` and the revenue fallback of ``strategic``, by score for
        the Strategic tier and groups using scores, by ``account_id`` for ``all`` and other
        named groups, as given for ``ids:``).  May be empty (e.g. no orders in the window);
        callers decide whether that is an error.

    Raises
    ------
    ConfigError
        Unknown group name (the message lists the valid groups), ``top0``, or ``ids:``
        naming accounts that do not exist.

    Examples
    --------
    >>> target_group(data, "top10", as_of="2026-09-30")  # doctest: +SKIP
       account_id          name
    0       A0042  华东精密机械有限公司
    ...
    """
    meth = resolve_methodology(methodology, owner="target_group", paths=False)
    key = check_group_name(name, methodology=meth)
    day = parse_date(as_of)
    if BUILTIN_GROUP.match(key):
        members, _basis = _builtin(data, key, day, meth, None)
        return members
    group = resolve_target_group(data, key, as_of=day, methodology=meth)
    return group.members[["account_id", "name"]]


def check_group_name(name: str, *, methodology: Methodology | None = None) -> str:
    """Check a group name's form without data; return it stripped.

    Valid: the built-ins and the named groups of ``methodology`` (kamlib's default when
    ``None``).  Raises ``ConfigError`` listing the valid groups for any other name.
    """
    key = str(name).strip()
    lowered = key.lower()
    if lowered in ("all", "strategic") or _TOP.match(lowered):
        if lowered == "top0":
            raise ConfigError(f"Group {name!r} asks for no accounts; use top1 or more.")
        return key
    if lowered.startswith("ids:"):
        if not any(part.strip() for part in key[4:].split(",")):
            raise ConfigError(
                "Group 'ids:' names no accounts; write the account ids after it, "
                "e.g. ids:A001,A002."
            )
        return key
    named = _named_groups(methodology)
    if key in named:
        return key
    more = f", or a group of the methodology file: {', '.join(named)}" if named else ""
    raise ConfigError(f"Target group {name!r} is not known. Valid groups: {GROUPS_HELP}{more}.")


def _named_groups(methodology: Methodology | None) -> tuple[str, ...]:
    meth = resolve_methodology(methodology, owner="check_group_name", paths=False)
    return meth.segmentation.group_names if meth.segmentation is not None else ()


def _builtin(
    data: KamData, key: str, day: date, meth: Methodology, scores: Any
) -> tuple[pd.DataFrame, str]:
    """(members with account_id, name; how the group was formed)."""
    lowered = key.lower()
    view = data.as_of(pd.Timestamp(day))
    accounts = _accounts(view)
    if lowered == "all":
        return accounts.sort_values("account_id", kind="stable").reset_index(drop=True), "all"
    if lowered.startswith("ids:"):
        return _by_ids(accounts, key[4:], day), "ids"
    top = _TOP.match(lowered)
    if top:
        n = int(top.group(1))
        ranked = _ranked(view, accounts, day).head(n).reset_index(drop=True)
        return ranked[["account_id", "name"]], "top 12-month revenue"
    # strategic
    features = account_features(data, as_of=day)
    tier, basis = _strategic_tier(features, meth, scores, day)
    if tier is None:
        return _pareto_head(_ranked(view, accounts, day)), basis
    names = accounts.set_index("account_id")["name"]
    out = pd.DataFrame({"account_id": tier, "name": names.reindex(tier).to_numpy()})
    return out.astype({"name": "str"}), basis


_PARETO_BASIS = "revenue Pareto head: the fewest top accounts making 50% of 12-month revenue"


def _pareto_head(ranked: pd.DataFrame) -> pd.DataFrame:
    if ranked.empty:
        return ranked[["account_id", "name"]]
    share = ranked["revenue"].cumsum() / ranked["revenue"].sum()
    # keep accounts up to and including the first one that reaches the share
    reached = int((share < STRATEGIC_REVENUE_SHARE).sum()) + 1
    return ranked.head(reached).reset_index(drop=True)[["account_id", "name"]]


def _top_tier(meth: Methodology) -> str:
    keys = meth.require_scoring().tier_keys
    return "strategic" if "strategic" in keys else keys[0]


def _unmeasured(result: Any) -> tuple[float, list[str]]:
    """Weight of the indicators no account has a value for, and their names."""
    expl = result.explanations
    measured = expl["missing_reason"].isna().groupby(expl["indicator"]).any()
    names = [n for n in result.weights.index if not bool(measured.get(n, False))]
    return float(result.weights.reindex(names).sum()), names


def _strategic_tier(
    features: pd.DataFrame, meth: Methodology, scores: Any, day: date
) -> tuple[list[str] | None, str]:
    """Account ids of the top tier, best first, or None and why not (warned)."""
    why = ""
    if meth.scoring is None:
        why = f"the methodology ({meth.source}) has no scoring section"
    else:
        result = scores
        caught: list[warnings.WarningMessage] = []
        if result is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = score_accounts(features, meth)
        if isinstance(result, ScoreResult):
            weight, names = _unmeasured(result)
            if weight > MAX_UNMEASURED_WEIGHT:
                why = (
                    f"no account has a value for {', '.join(names)}, indicators carrying "
                    f"{weight:.0%} of the scoring weight (more than "
                    f"{MAX_UNMEASURED_WEIGHT:.0%}), so the Strategic tier would rest on too "
                    "little"
                )
        if not why:
            for w in caught:
                warnings.warn(w.message, w.category, stacklevel=4)
            frame = _score_frame(result)
            top = _top_tier(meth)
            chosen = frame[frame["tier"] == top].sort_values(["rank", "account_id"], kind="stable")
            return list(chosen["account_id"]), f"tier '{top}' of the composite score"
    warnings.warn(
        f"Target group 'strategic' on {day.isoformat()}: {why}; the group is the revenue "
        "Pareto head instead (the fewest top accounts making 50% of the last 12 months' "
        "revenue).",
        DataQualityWarning,
        stacklevel=4,
    )
    return None, f"{_PARETO_BASIS} (fallback: {why})"


def _accounts(view: KamData) -> pd.DataFrame:
    frame = view.require("accounts", "A target group")[["account_id", "name"]]
    out = frame.astype({"account_id": "str", "name": "str"})
    return out.drop_duplicates("account_id").reset_index(drop=True)


def _by_ids(accounts: pd.DataFrame, text: str, day: date) -> pd.DataFrame:
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise ConfigError(
            "Group 'ids:' names no accounts; write the account ids after it, e.g. ids:A001,A002."
        )
    known = accounts.set_index("account_id")
    missing = [i for i in ids if i not in known.index]
    if missing:
        raise ConfigError(
            f"Group 'ids:{text}' names accounts that do not exist on {day.isoformat()}: "
            f"{', '.join(missing)}. Check the ids against the accounts table."
        )
    return known.loc[ids].reset_index()[["account_id", "name"]]


def _ranked(view: KamData, accounts: pd.DataFrame, day: date) -> pd.DataFrame:
    """Accounts with positive trailing-12-month revenue, best first, ties by account_id."""
    start, end = trailing_window(day, months=12)
    orders = view.require("orders", "A revenue-ranked target group")
    dates = orders["order_date"].dt.normalize()
    window = orders.loc[
        (dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end)), ["account_id", "amount"]
    ]
    revenue = (
        window.groupby("account_id", sort=False, as_index=False)["amount"]
        .sum()
        .rename(columns={"amount": "revenue"})
        .astype({"account_id": "str"})
    )
    ranked = accounts.merge(revenue, on="account_id", how="inner")
    ranked = ranked[ranked["revenue"] > 0]
    return ranked.sort_values(
        ["revenue", "account_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)[["account_id", "name", "revenue"]]


# -- named groups, resolved and recorded ------------------------------------------------------
@dataclass(frozen=True)
class TargetGroup:
    """A target group formed as of a date: what it is, on which data, and who is in it.

    Attributes
    ----------
    name
        The group's name.
    definition
        The :class:`~kamlib.methodology.GroupDefinition` (kind ``builtin`` / ``rule`` /
        ``tiers`` and its text).
    as_of
        The date the group was formed at.
    snapshot
        Fingerprint of the data snapshot (``KamData.snapshot.fingerprint``; ``None`` when
        formed from a features frame without ``snapshot=``).
    methodology
        Fingerprint of the methodology file (its rules, tiers and tags).
    members
        ``account_id``, ``name`` (NA when unknown), ``position`` (1 = first), in group order.
    basis
        How the members were chosen, e.g. ``"tier 'strategic' of the composite score"`` or
        the revenue fallback with its reason.
    """

    name: str
    definition: GroupDefinition
    as_of: date
    snapshot: str | None
    methodology: str
    members: pd.DataFrame
    basis: str

    def __len__(self) -> int:
        return len(self.members)

    @property
    def account_ids(self) -> list[str]:
        return list(self.members["account_id"])

    def to_frame(self) -> pd.DataFrame:
        """Membership rows ready to store: ``group, as_of, snapshot, methodology,
        account_id, position`` (one per member; none for an empty group)."""
        n = len(self.members)
        return pd.DataFrame(
            {
                "group": pd.array([self.name] * n, dtype="str"),
                "as_of": pd.Series([pd.Timestamp(self.as_of)] * n, dtype="datetime64[us]"),
                "snapshot": pd.array([self.snapshot] * n, dtype="str"),
                "methodology": pd.array([self.methodology] * n, dtype="str"),
                "account_id": pd.array(self.members["account_id"].to_numpy(), dtype="str"),
                "position": pd.array(self.members["position"].to_numpy(), dtype="Int64"),
            }
        )

    def record(self) -> pd.DataFrame:
        """One row describing this formation of the group (kept even when it is empty):
        ``group, kind, definition, rule, label_en, label_zh, description, as_of, snapshot,
        methodology, basis, members`` (the count)."""
        d = self.definition
        row = {
            "group": self.name, "kind": d.kind, "definition": d.definition, "rule": d.rule,
            "label_en": d.label("en"), "label_zh": d.label("zh"), "description": d.description,
            "as_of": pd.Timestamp(self.as_of), "snapshot": self.snapshot,
            "methodology": self.methodology, "basis": self.basis, "members": len(self.members),
        }  # fmt: skip
        out = pd.DataFrame([row])
        out["as_of"] = out["as_of"].astype("datetime64[us]")
        return out

    def summary(self) -> pd.DataFrame:
        """Same as :meth:`record`."""
        return self.record()


def define_target_group(
    name: str,
    definition: Any,
    *,
    label: str | dict[str, str] | None = None,
    description: str = "",
    methodology: Methodology | None = None,
) -> GroupDefinition:
    """Define a named target group, validated like the methodology file's ``segments.groups``.

    Parameters
    ----------
    name
        Letters, digits and underscores; not a built-in's name.
    definition
        A rule over features, tags and ``score, rank, tier, abc_class, rfm_segment,
        quadrant`` (e.g. ``"tier == 'key' and growing"``); a built-in group name (``top20``,
        ``strategic``, ``all``, ``ids:A,B``); ``"tiers: strategic, key"`` or a list of tier
        keys; or a mapping as in the methodology file (``{rule | tiers | builtin, label,
        description}``).
    label
        ``{en, zh}`` or one text for both.
    description
        Free text kept with the definition.
    methodology
        Whose tags, tiers and extra features the rule may use (kamlib's default when
        ``None``).

    Returns
    -------
    GroupDefinition

    Raises
    ------
    ConfigError
        Bad name, unknown field or tier, a construct outside the rule language.

    Examples
    --------
    >>> wallet_gap = define_target_group("wallet_gap", "big_wallet and share_of_wallet < 0.15")
    >>> wallet_gap.kind
    'rule'
    """
    meth = resolve_methodology(methodology, owner="define_target_group", paths=False)
    if isinstance(definition, GroupDefinition):  # re-validate (and rename) a definition
        d = definition
        definition = {
            d.kind: list(d.tiers) if d.kind == "tiers" else d.definition,
            "label": {"en": d.label_en, "zh": d.label_zh},
            "description": d.description,
        }
    if isinstance(definition, str):
        text = definition.strip()
        if BUILTIN_GROUP.match(text):
            definition = {"builtin": text}
        elif re.match(r"^tiers?\s*:", text, re.IGNORECASE):
            keys = [t.strip() for t in text.split(":", 1)[1].split(",") if t.strip()]
            definition = {"tiers": keys}
        else:
            definition = {"rule": text}
    elif isinstance(definition, (list, tuple)):
        definition = {"tiers": list(definition)}
    if isinstance(definition, dict):
        definition = dict(definition)
        if label is not None:
            definition["label"] = label
        if description:
            definition["description"] = description
    return group_definition(
        name, definition, scoring=meth.scoring, tags=meth.tags, where="define_target_group"
    )


def resolve_target_group(
    data_or_features: KamData | pd.DataFrame,
    group: str | GroupDefinition,
    *,
    as_of: date | str,
    scores: Any = None,
    methodology: Methodology | None = None,
    snapshot: str | None = None,
) -> TargetGroup:
    """Form a target group as of a date.

    Parameters
    ----------
    data_or_features
        A :class:`~kamlib.data.KamData` (features are computed as of ``as_of``; the snapshot
        fingerprint is recorded), or a features frame (one row per account, as of
        ``as_of``; when it carries ``kamlib.features`` attrs their date must match).
    group
        A built-in name, the name of a group of the methodology file, or a
        :class:`~kamlib.methodology.GroupDefinition` (from :func:`define_target_group`).
    as_of
        The date the group is formed at.
    scores
        A :class:`~kamlib.scoring.ScoreResult` (or frame ``account_id, score, tier, rank``)
        to use for ``tiers`` groups, rules reading ``score`` / ``rank`` / ``tier`` and
        ``strategic``; computed with :func:`kamlib.scoring.score_accounts` when needed and
        not given.
    methodology
        Tags, tiers, named groups and segment settings (kamlib's default when ``None``).
    snapshot
        Fingerprint to record (default: the data's).

    Returns
    -------
    TargetGroup
        Name, definition, date, snapshot, members; ``to_frame()`` / ``record()`` give the
        rows to store.

    Notes
    -----
    Members of a rule group are the accounts for which the rule is true; an account whose
    rule is unknown (a field it needs is missing) is not a member.  Order: by score rank
    when scores were used, else by ``account_id``.
    """
    meth = resolve_methodology(methodology, owner="resolve_target_group", paths=False)
    definition = _definition(group, meth)
    day = parse_date(as_of)
    if isinstance(data_or_features, KamData):
        data = data_or_features
        snap = snapshot if snapshot is not None else data.snapshot.fingerprint
        if definition.kind == "builtin":
            key = check_group_name(definition.definition, methodology=meth)
            members, basis = _builtin(data, key, day, meth, scores)
        else:
            from kamlib.features import account_features

            features = account_features(data, as_of=day)
            ids, basis = _by_rule(features, definition, meth, scores)
            names = _accounts(data.as_of(pd.Timestamp(day))).set_index("account_id")["name"]
            members = pd.DataFrame({"account_id": ids, "name": names.reindex(ids).to_numpy()})
    elif isinstance(data_or_features, pd.DataFrame):
        features = account_frame(data_or_features, "resolve_target_group")
        _check_features_date(data_or_features, day)
        snap = snapshot
        if definition.kind == "builtin":
            key = check_group_name(definition.definition, methodology=meth)
            ids, basis = _builtin_from_features(features, key, day, meth, scores)
        else:
            ids, basis = _by_rule(features, definition, meth, scores)
        names = features.set_index("account_id")["name"] if "name" in features.columns else None
        members = pd.DataFrame(
            {
                "account_id": ids,
                "name": names.reindex(ids).to_numpy() if names is not None else [None] * len(ids),
            }
        )
    else:
        raise DataValidationError(
            "The 'data_or_features' parameter of resolve_target_group must be a KamData (from "
            "kamlib.data.load) or a features frame. Got "
            f"{type(data_or_features).__name__} instead."
        )
    members = members.reset_index(drop=True).astype({"account_id": "str", "name": "str"})
    members["position"] = pd.array(np.arange(1, len(members) + 1), dtype="Int64")
    return TargetGroup(
        name=definition.name,
        definition=definition,
        as_of=day,
        snapshot=snap,
        methodology=meth.fingerprint,
        members=members,
        basis=basis,
    )


def _definition(group: Any, meth: Methodology) -> GroupDefinition:
    if isinstance(group, GroupDefinition):
        return group
    if not isinstance(group, str):
        raise ConfigError(
            "The 'group' parameter must be a group name or a GroupDefinition (from "
            f"define_target_group). Got {type(group).__name__} instead."
        )
    key = check_group_name(group, methodology=meth)
    if BUILTIN_GROUP.match(key):
        return GroupDefinition(name=key, kind="builtin", definition=key, label_en=key, label_zh=key)
    return meth.segmentation.group(key)


def _check_features_date(features: pd.DataFrame, day: date) -> None:
    info = features.attrs.get("kamlib.features") if hasattr(features, "attrs") else None
    dates = info.get("as_of") if isinstance(info, dict) else None
    if dates and list(dates) != [day.isoformat()]:
        raise ConfigError(
            f"The features frame is as of {', '.join(dates)}, not {day.isoformat()}: compute "
            f"the features as of {day.isoformat()} (account_features(..., as_of=...)) or pass "
            "that date."
        )


def _score_frame(scores: Any) -> pd.DataFrame:
    frame = scores.scores if isinstance(scores, ScoreResult) else scores
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            "The 'scores' parameter must be a kamlib.scoring.ScoreResult or a frame with "
            f"account_id, score, tier, rank. Got {type(scores).__name__} instead."
        )
    frame = account_frame(frame, "resolve_target_group scores")
    require_columns(frame, ["score", "tier", "rank"], "the scores frame")
    return frame[["account_id", "score", "tier", "rank"]]


def _builtin_from_features(
    features: pd.DataFrame, key: str, day: date, meth: Methodology, scores: Any
) -> tuple[list[str], str]:
    lowered = key.lower()
    if lowered == "all":
        return sorted(features["account_id"]), "all"
    if lowered.startswith("ids:"):
        accounts = pd.DataFrame({"account_id": features["account_id"], "name": ""})
        return list(_by_ids(accounts, key[4:], day)["account_id"]), "ids"
    require_columns(features, ["revenue_12m"], "the features frame", why=f"group {key!r} ranks by it")
    revenue = features[["account_id", "revenue_12m"]].rename(columns={"revenue_12m": "revenue"})
    ranked = revenue[revenue["revenue"] > 0].sort_values(
        ["revenue", "account_id"], ascending=[False, True], kind="stable"
    )
    top = _TOP.match(lowered)
    if top:
        return list(ranked["account_id"].head(int(top.group(1)))), "top 12-month revenue"
    tier, basis = _strategic_tier(features, meth, scores, day)
    if tier is not None:
        return tier, basis
    ranked = ranked.assign(name="")
    return list(_pareto_head(ranked.reset_index(drop=True))["account_id"]), basis


def _by_rule(
    features: pd.DataFrame, definition: GroupDefinition, meth: Methodology, scores: Any
) -> tuple[list[str], str]:
    """Members of a rule / tiers group and how they are ordered."""
    from kamlib.segmentation.tags import _check_fields, tag_accounts

    frame = account_frame(features, "resolve_target_group")
    rule = parse_rule(definition.rule, where=f"Target group '{definition.name}'")
    needed = set(rule.fields)
    derived: dict[str, np.ndarray] = {}
    tag_names = [t.name for t in meth.tags]
    if needed & set(tag_names):
        tagged = tag_accounts(frame, meth)
        derived.update({n: tagged[n].to_numpy() for n in tag_names if n in needed})
    ranked = None
    if needed & set(_SCORE_FIELDS):
        if scores is None:
            scores = score_accounts(frame, meth)
        sc = _score_frame(scores).set_index("account_id").reindex(frame["account_id"])
        derived["score"] = sc["score"].to_numpy(dtype=float, na_value=np.nan)
        derived["rank"] = sc["rank"].to_numpy(dtype=float, na_value=np.nan)
        derived["tier"] = sc["tier"].astype("str").to_numpy()
        ranked = derived["rank"]
    if "abc_class" in needed:
        from kamlib.segmentation.pareto import abc_analysis

        abc = meth.segmentation.abc
        res = abc_analysis(frame, column=abc.feature, a=abc.a, b=abc.b).set_index("account_id")
        derived["abc_class"] = res["abc_class"].reindex(frame["account_id"]).to_numpy()
    if "rfm_segment" in needed:
        from kamlib.segmentation.rfm import rfm_scores

        res = rfm_scores(frame, methodology=meth).scores.set_index("account_id")
        derived["rfm_segment"] = res["segment"].reindex(frame["account_id"]).to_numpy()
    if "quadrant" in needed:
        from kamlib.segmentation.portfolio import portfolio_matrix

        res = portfolio_matrix(frame, methodology=meth).accounts.set_index("account_id")
        derived["quadrant"] = res["quadrant"].reindex(frame["account_id"]).to_numpy()
    base = frame.drop(columns=[c for c in derived if c in frame.columns])
    work = base.assign(
        **{k: pd.array(v, dtype="str") if v.dtype == object else v for k, v in derived.items()}
    )
    _check_fields(rule, work, [c for c in work.columns if c != "account_id"])
    mask = rule.evaluate(work).to_numpy()
    ids = frame["account_id"].to_numpy(dtype=object)[mask]
    if ranked is not None:
        r = ranked[mask]
        order = np.lexsort((ids, np.where(np.isnan(r), math.inf, r)))
        return [str(i) for i in ids[order]], f"rule, ordered by score ({definition.rule})"
    return sorted(str(i) for i in ids), f"rule ({definition.rule})"
