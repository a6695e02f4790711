"""The portfolio review's segmentation sections: Pareto / ABC, the portfolio matrix, segment
profiles and tags of the group (:mod:`kamlib.segmentation`), each computed independently.

Builders used by :func:`kamlib.views.portfolio.portfolio_review`; each returns the section's
result objects and functions ``lang →`` frame or figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import DataValidationError, KamlibError
from kamlib.methodology import Methodology, ScoringModel
from kamlib.methodology.labels import label
from kamlib.scoring import ScoreResult
from kamlib.segmentation import (
    abc_analysis,
    cluster_accounts,
    lorenz_curve,
    portfolio_matrix,
    tag_accounts,
)
from kamlib.segmentation.clusters import CLUSTER_COLUMNS
from kamlib.views.notices import Notices
from kamlib.views.portfolio_sections import (
    AVAILABLE,
    SectionStatus,
    account_names,
    chart_names,
)

#: Columns of the segmentation frames (an unavailable section gives them empty).
SECTION_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("pareto", "curve"): ("account_share", "value_share", "abc_class"),
    ("pareto", "classes"): (
        "abc_class", "accounts_count", "account_share", "revenue_12m", "revenue_share",
    ),
    ("portfolio_matrix", "points"): (
        "account", "tier", "position", "attractiveness", "quadrant", "revenue_12m",
    ),
    ("portfolio_matrix", "quadrants"): (
        "quadrant", "accounts_count", "revenue_12m", "revenue_share", "strategy",
    ),
    ("segments", "profiles"): ("segment", "feature", "z", "value"),
    ("segments", "segments"): (
        "segment", "accounts_count", "account_share", "revenue_12m", "revenue_share",
        "tier_counts",
    ),
    ("segments", "tags"): ("tag", "kind", "accounts_count", "account_share"),
}  # fmt: skip


# -- segmentation --------------------------------------------------------------------------------
def segmentation_sections(
    features: pd.DataFrame,
    scores: ScoreResult,
    members: pd.DataFrame,
    meth: Methodology,
    notices: Notices,
    status: dict[str, SectionStatus],
) -> dict[str, dict[str, Any]]:
    """Pareto / ABC, the portfolio matrix and segment profiles of the group, from
    :mod:`kamlib.segmentation` — each section independently: one the data do not allow is
    marked unavailable (its status says why) and the others are still computed."""
    ids = set(members["account_id"].astype(str))
    group_features = features[features["account_id"].isin(ids)].reset_index(drop=True)
    out: dict[str, dict[str, Any]] = {}
    names = account_names(features[["account_id", "name"]])
    model = meth.require_scoring()

    def tier_label(key: str, lang: str) -> str:
        return model.tier(key).label(lang) if key in model.tier_keys else key

    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "pareto": lambda: _pareto(group_features, meth),
        "portfolio_matrix": lambda: _matrix(group_features, scores, meth, names, tier_label),
        "segments": lambda: _segments(group_features, scores, meth, tier_label, notices),
    }
    for key, build in builders.items():
        try:
            with notices.warnings(key):
                out[key] = build()
            status[key] = AVAILABLE
        except Unavailable as exc:
            status[key] = SectionStatus(False, "section_failed", str(exc), exc.explanation)
            notices.add(key, str(exc))
        except KamlibError as exc:
            status[key] = SectionStatus(False, "section_failed", str(exc), "see_notes")
            notices.add(key, str(exc))
    return out


class Unavailable(DataValidationError):
    """A section the data do not allow, with the label key that explains it to the reader
    (``explanation``, shown in place of the section's table)."""

    def __init__(self, message: str, explanation: str) -> None:
        super().__init__(message)
        self.explanation = explanation


def _abc_settings(meth: Methodology) -> tuple[str, float, float]:
    """The ABC feature and class limits of the methodology (kamlib's when it has no
    ``segments`` section)."""
    if meth.segmentation is None:
        return "revenue_12m", 0.8, 0.95
    abc = meth.segmentation.abc
    return abc.feature, float(abc.a), float(abc.b)


def _pareto(features: pd.DataFrame, meth: Methodology) -> dict[str, Any]:
    """ABC classes and the Pareto curve of the group's revenue (the methodology's
    ``segments.abc`` feature and limits)."""
    feature, a, b = _abc_settings(meth)
    values = features.set_index("account_id")[feature]
    if not (values > 0).any():
        raise Unavailable(f"No account has a positive {feature}.", "pareto_no_revenue")
    abc = abc_analysis(values, a=a, b=b)
    lorenz = lorenz_curve(values)
    curve = lorenz.to_frame()  # top accounts first: (0, 0) … (1, 1)
    known = abc[abc["abc_class"].notna() & (abc["abc_class"].astype(str) != "<NA>")]
    classes = known["abc_class"].astype(str).to_numpy()
    n = len(curve) - 1
    if len(classes) != n:  # lorenz and abc count the same accounts (those with a value)
        raise DataValidationError(
            f"ABC analysis and Lorenz curve disagree on the accounts ({len(classes)} vs {n})."
        )
    point_class = np.concatenate([[classes[0] if n else "A"], classes])
    keep = np.unique(
        np.concatenate(
            [
                np.linspace(0, n, min(n, 600) + 1).round().astype(int),
                np.flatnonzero(point_class[1:] != point_class[:-1]),
                np.flatnonzero(point_class[1:] != point_class[:-1]) + 1,
            ]
        )
    )
    pieces = []
    for cls in dict.fromkeys(point_class):
        idx = keep[point_class[keep] == cls]
        # start each class where the previous one ended, so the areas touch
        first = int(idx.min()) if len(idx) else 0
        if first > 0:
            idx = np.concatenate([[first - 1], idx])
        pieces.append(
            pd.DataFrame(
                {
                    "account_share": curve["account_share"].to_numpy()[idx],
                    "value_share": curve["value_share"].to_numpy()[idx],
                    "abc_class": cls,
                }
            )
        )
    points = pd.concat(pieces, ignore_index=True)
    positive = known["value"].clip(lower=0)
    total = float(positive.sum())

    def class_table(lang: str) -> pd.DataFrame:
        rows = []
        for cls in ("A", "B", "C"):
            part = known[known["abc_class"].astype(str) == cls]
            rows.append(
                {
                    "abc_class": cls,
                    "accounts_count": len(part),
                    "account_share": len(part) / len(known) if len(known) else np.nan,
                    "revenue_12m": float(part["value"].sum()),
                    "revenue_share": (
                        float(part["value"].clip(lower=0).sum()) / total if total > 0 else np.nan
                    ),
                }
            )
        return pd.DataFrame(rows)

    def figures(lang: str) -> dict[str, Any]:
        return {
            "accounts_with_revenue": int(lorenz.accounts),
            "pareto_gini": float(lorenz.gini),
            "top_10_share": lorenz.top_share(0.1),
            "top_20_share": lorenz.top_share(0.2),
            "class_a_accounts": int((classes == "A").sum()),
        }

    return {
        "curve": lambda lang: points,
        "classes": class_table,
        "figures": figures,
        "abc": abc,
        "lorenz": lorenz,
    }


def _axis_name(feature: str, model: ScoringModel, lang: str) -> str:
    for ind in model.indicators:
        if ind.feature == feature:
            return ind.label(lang)
    return label(feature, lang)


def _axis_title(spec: Any, model: ScoringModel, lang: str, key: str) -> str:
    """A short axis title: the indicator or feature the axis reads, or "index 0–1"."""
    if isinstance(spec, str):
        return f"{label(key, lang)}: {_axis_name(spec, model, lang)}"
    return f"{label(key, lang)} ({label('percentile_index', lang)})"


def _axis_definition(spec: Any, model: ScoringModel, lang: str) -> str:
    """What an axis is made of: the feature, or the index's features and weights."""
    if isinstance(spec, str):
        return _axis_name(spec, model, lang)
    sep = "、" if lang == "zh" else ", "
    return sep.join(f"{_axis_name(c, model, lang)} {w:.0%}" for c, w in spec)


def _matrix(
    features: pd.DataFrame,
    scores: ScoreResult,
    meth: Methodology,
    names: Mapping[str, str],
    tier_label: Callable[[str, str], str],
) -> dict[str, Any]:
    """Accounts of the group in the portfolio matrix (the methodology's axes, median
    thresholds over the group)."""
    settings = None if meth.segmentation is None else meth.segmentation.portfolio
    if settings is not None:
        for axis, key in ((settings.position, "matrix_no_position"),
                          (settings.attractiveness, "matrix_no_attractiveness")):  # fmt: skip
            columns = [axis] if isinstance(axis, str) else [c for c, _w in axis]
            known = [c for c in columns if c in features.columns and features[c].notna().any()]
            if not known:
                raise Unavailable(
                    f"No account has a value for {', '.join(columns)}: the portfolio matrix "
                    "cannot place any account.",
                    key,
                )
    pm = portfolio_matrix(features, scores, methodology=meth)
    acc = pm.accounts
    revenue = features.set_index("account_id")["revenue_12m"]
    ids = acc["account_id"].astype(str).tolist()
    shown = chart_names(ids, names)
    quadrants = {q.key: q for q in pm.quadrants}
    placed = acc["quadrant"].notna() & (acc["quadrant"].astype(str) != "<NA>")
    model = meth.require_scoring()

    order = {q.key: i for i, q in enumerate(pm.quadrants)}

    def points(lang: str) -> pd.DataFrame:
        part = acc[placed]
        out = pd.DataFrame(
            {
                "account": [shown[i] for i in np.flatnonzero(placed.to_numpy())],
                "tier": [tier_label(t, lang) for t in part["tier"].astype(str)],
                "position": part["position"].to_numpy(dtype=float),
                "attractiveness": part["attractiveness"].to_numpy(dtype=float),
                "quadrant": [quadrants[q].label(lang) for q in part["quadrant"].astype(str)],
                "revenue_12m": revenue.reindex(part["account_id"]).to_numpy(dtype=float),
            }
        )
        # quadrants in the methodology's order (the chart's legend follows the rows)
        rank = part["quadrant"].astype(str).map(order).to_numpy()
        return out.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)

    def table(lang: str) -> pd.DataFrame:
        rev = revenue.reindex(acc["account_id"]).to_numpy(dtype=float)
        total = float(np.nansum(np.clip(rev[placed.to_numpy()], 0, None)))
        rows = []
        for q in pm.quadrants:
            sel = (acc["quadrant"].astype(str) == q.key).to_numpy()
            r = rev[sel]
            rows.append(
                {
                    "quadrant": q.label(lang),
                    "accounts_count": int(sel.sum()),
                    "revenue_12m": float(np.nansum(r)),
                    "revenue_share": (
                        float(np.nansum(np.clip(r, 0, None))) / total if total > 0 else np.nan
                    ),
                    "strategy": q.strategy(lang),
                }
            )
        return pd.DataFrame(rows)

    def options(lang: str) -> dict[str, Any]:
        return {
            "x_cut": float(pm.position_threshold),
            "y_cut": float(pm.attractiveness_threshold),
            "x_title": _axis_title(pm.position, model, lang, "position_axis"),
            "y_title": _axis_title(pm.attractiveness, model, lang, "attractiveness_axis"),
        }

    def figures(lang: str) -> dict[str, Any]:
        return {
            "attractiveness_axis": _axis_definition(pm.attractiveness, model, lang),
            "position_axis": _axis_definition(pm.position, model, lang),
            "attractiveness_threshold": float(pm.attractiveness_threshold),
            "position_threshold": float(pm.position_threshold),
            "accounts_placed": int(placed.sum()),
        }

    return {
        "points": points,
        "quadrants": table,
        "options": options,
        "figures": figures,
        "result": pm,
    }


#: Clustered columns need a value for at least this share of the group's accounts.
CLUSTER_MIN_KNOWN = 0.5
#: Segments are formed only for groups of at least this many accounts.
CLUSTER_MIN_ACCOUNTS = 30
#: Numbers of segments tried (the silhouette chooses); more than six is hard to act on.
CLUSTER_K_RANGE = range(2, 7)


def _segments(
    features: pd.DataFrame,
    scores: ScoreResult,
    meth: Methodology,
    tier_label: Callable[[str, str], str],
    notices: Notices,
) -> dict[str, Any]:
    """Clusters of the group (k by silhouette) with their profiles, and the group's tags."""
    if len(features) < CLUSTER_MIN_ACCOUNTS:
        raise Unavailable(
            f"The group has {len(features)} accounts; segments are formed for groups of at "
            f"least {CLUSTER_MIN_ACCOUNTS}.",
            "segments_small_group",
        )
    usable = [c for c in CLUSTER_COLUMNS if features[c].notna().mean() >= CLUSTER_MIN_KNOWN]
    left_out = [c for c in CLUSTER_COLUMNS if c not in usable]
    if left_out:
        notices.add(
            "segments",
            f"Not clustered on {', '.join(left_out)}: fewer than {CLUSTER_MIN_KNOWN:.0%} of the "
            "accounts have a value.",
        )
    if len(usable) < 2:
        raise Unavailable(
            f"Too few features with values to cluster the accounts (only {usable or 'none'}).",
            "segments_too_few",
        )
    result = cluster_accounts(features, columns=usable, k_range=CLUSTER_K_RANGE, random_state=0)
    if result.excluded:
        notices.add(
            "segments",
            f"{len(result.excluded)} account(s) without a value in {', '.join(usable)} are in "
            "no segment.",
        )
    labels = result.labels.dropna(subset=["cluster"])
    cluster_of = dict(
        zip(labels["account_id"].astype(str), labels["cluster"].astype(int), strict=True)
    )
    revenue = features.set_index("account_id")["revenue_12m"]
    tiers = scores.scores.set_index("account_id")["tier"]
    model = meth.require_scoring()
    # each column's scale as the clustering saw it: transformed, then standardised
    complete = features[features["account_id"].isin(set(cluster_of))]
    scaled = {}
    for col in usable:
        x = complete[col].to_numpy(dtype=float)
        how = result.transforms.get(col, "none")
        if how == "log1p":
            x = np.log1p(x)
        elif how == "signed log1p":
            x = np.sign(x) * np.log1p(np.abs(x))
        sd = x.std()
        scaled[col] = np.zeros_like(x) if how == "constant" or sd == 0 else (x - x.mean()) / sd
    member = complete["account_id"].astype(str).map(cluster_of).to_numpy()

    def seg_label(cluster: int, lang: str) -> str:
        row = result.profiles[result.profiles["cluster"] == cluster].iloc[0]
        text = row["label_zh"] if lang == "zh" else row["label"]
        return f"{cluster + 1} · {text}"

    def feature_label(col: str, lang: str) -> str:
        for ind in model.indicators:
            if ind.feature == col:
                return ind.label(lang)
        return label(col, lang)

    def profiles(lang: str) -> pd.DataFrame:
        rows = []
        for c in sorted(set(cluster_of.values())):
            for col in usable:
                x = scaled[col]
                rows.append(
                    {
                        "segment": seg_label(c, lang),
                        "feature": feature_label(col, lang),
                        "z": float(np.median(x[member == c]) - np.median(x)),
                        "value": float(
                            result.profiles.loc[result.profiles["cluster"] == c, col].iloc[0]
                        ),
                    }
                )
        return pd.DataFrame(rows)

    def table(lang: str) -> pd.DataFrame:
        n = len(cluster_of)
        positive = revenue.clip(lower=0)
        total = float(positive.reindex(list(cluster_of)).sum())
        rows = []
        for c in sorted(set(cluster_of.values())):
            ids = [a for a, k in cluster_of.items() if k == c]
            counts = tiers.reindex(ids).value_counts()
            mix = " · ".join(
                f"{tier_label(t.key, lang)} {int(counts.get(t.key, 0))}"
                for t in model.tiers
                if counts.get(t.key, 0)
            )
            rows.append(
                {
                    "segment": seg_label(c, lang),
                    "accounts_count": len(ids),
                    "account_share": len(ids) / n if n else np.nan,
                    "revenue_12m": float(revenue.reindex(ids).sum()),
                    "revenue_share": (
                        float(positive.reindex(ids).sum()) / total if total > 0 else np.nan
                    ),
                    "tier_counts": mix,
                }
            )
        return pd.DataFrame(rows)

    tags = _tags(features, meth)

    return {
        "profiles": profiles,
        "segments": table,
        "tags": tags,
        "result": result,
        "figures": lambda lang: {
            "segments_found": int(result.k),
            "silhouette": float(result.silhouette.get(result.k, np.nan)),
            "accounts_in_segments": len(cluster_of),
        },
    }


def _tags(features: pd.DataFrame, meth: Methodology) -> Callable[[str], pd.DataFrame]:
    """Accounts of the group carrying each tag of the methodology (``tag, kind,
    accounts_count, account_share``); a tag whose rule reads a column the features lack is
    left out."""
    rules = meth.tags
    usable = [t for t in rules if all(f in features.columns or f in {r.name for r in rules}
                                      for f in t.fields)]  # fmt: skip
    if not usable:
        return lambda lang: pd.DataFrame(columns=["tag", "kind", "accounts_count", "account_share"])
    flags = tag_accounts(features, usable)
    n = len(flags)

    def table(lang: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "tag": [t.label(lang) for t in usable],
                "kind": [label(f"kind_{t.kind}", lang) for t in usable],
                "accounts_count": [int(flags[t.name].sum()) for t in usable],
                "account_share": [float(flags[t.name].mean()) if n else np.nan for t in usable],
            }
        )

    return table
