"""Clusters of accounts (k-means on standardised features) with plain-language profiles."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError, DataValidationError
from kamlib.frames import numeric_column
from kamlib.segmentation._frames import (
    account_frame,
    check_lang,
    require_features,
)

__all__ = ["CLUSTER_COLUMNS", "ClusterResult", "cluster_accounts"]

#: Columns clustered when none are given: size, momentum, share, recency, frequency.
CLUSTER_COLUMNS: tuple[str, ...] = (
    "revenue_12m", "growth_12m", "share_of_wallet", "recency_days", "orders_12m",
)  # fmt: skip
#: A column whose skewness exceeds this (in absolute value) is log-transformed first.
SKEW_LIMIT = 1.0
#: A cluster median this many standard deviations (of the transformed, standardised column)
#: above or below the overall median earns the column's word in the cluster label.
LABEL_THRESHOLD = 0.5
#: At most this many words per label (the strongest deviations, in column order).
LABEL_WORDS = 3
#: The silhouette is computed on a random sample of this many accounts when there are more.
SILHOUETTE_SAMPLE = 5000

#: column → ((word when high, zh), (word when low, zh)).
WORDS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "revenue_12m": (("large", "规模大"), ("small", "规模小")),
    "revenue_24m": (("large", "规模大"), ("small", "规模小")),
    "growth_12m": (("growing", "增长"), ("shrinking", "萎缩")),
    "share_of_wallet": (("high share of wallet", "份额高"), ("low share of wallet", "份额低")),
    "recency_days": (("lapsed", "久未下单"), ("recently active", "近期活跃")),
    "orders_12m": (("frequent buyers", "下单频繁"), ("infrequent buyers", "下单稀少")),
    "order_days_12m": (("frequent buyers", "下单频繁"), ("infrequent buyers", "下单稀少")),
    "category_spend": (("big wallet", "采购盘子大"), ("small wallet", "采购盘子小")),
    "annual_revenue": (("big company", "企业规模大"), ("small company", "企业规模小")),
    "employees": (("big company", "企业规模大"), ("small company", "企业规模小")),
    "gross_margin_12m": (("high margin", "毛利高"), ("low margin", "毛利低")),
    "active_quarter_share": (("steady buyers", "购买稳定"), ("sporadic buyers", "购买零散")),
    "product_lines_12m": (("broad product use", "产品线广"), ("narrow product use", "产品线窄")),
    "open_pipeline": (("big pipeline", "在途商机多"), ("thin pipeline", "在途商机少")),
    "tenure_days": (("long-standing", "合作久"), ("new", "合作新")),
    "strategic_fit": (("good strategic fit", "战略匹配高"), ("poor strategic fit", "战略匹配低")),
    "sla_breach_rate_12m": (("service problems", "服务超时多"), ("well served", "服务及时")),
    "win_rate_24m": (("high win rate", "赢单率高"), ("low win rate", "赢单率低")),
    "decision_maker_support": (("supportive", "决策人支持"), ("unsupportive", "决策人不支持")),
}


@dataclass(frozen=True)
class ClusterResult:
    """Clusters of accounts (see :func:`cluster_accounts`).

    Attributes
    ----------
    labels
        One row per account, in the order given: ``account_id``, ``cluster`` (``Int64``;
        0 is the largest cluster; NA for an account left out for a missing value).
    k
        The number of clusters.
    silhouette
        Mean silhouette per k tried (``pandas.Series`` indexed by k; NaN where it could not
        be computed, e.g. fewer distinct accounts than k).
    profiles
        One row per cluster: ``cluster, size, share``, the median of every column (raw
        units), ``label`` (English) and ``label_zh``.
    columns
        The columns clustered.
    transforms
        Per column: ``"log1p"``, ``"signed log1p"`` (skewed with negative values:
        ``sign(x)·log1p(|x|)``), ``"none"``, or ``"constant"`` (no spread; ignored).
    excluded
        Accounts left out because a column had no value for them.
    chosen_by
        ``"silhouette"`` or ``"given"``.
    """

    labels: pd.DataFrame
    k: int
    silhouette: pd.Series
    profiles: pd.DataFrame
    columns: tuple[str, ...]
    transforms: Mapping[str, str]
    excluded: tuple[str, ...]
    chosen_by: str

    def to_frame(self, lang: str = "en") -> pd.DataFrame:
        """``labels`` with the cluster's label in ``lang`` (``cluster_label``)."""
        check_lang(lang)
        col = "label_zh" if lang == "zh" else "label"
        names = dict(zip(self.profiles["cluster"], self.profiles[col], strict=True))
        out = self.labels.copy()
        out["cluster_label"] = out["cluster"].map(names).astype("str")
        return out

    def summary(self, lang: str = "en") -> pd.DataFrame:
        """The profiles with the label in ``lang`` in the ``label`` column."""
        check_lang(lang)
        out = self.profiles.copy()
        if lang == "zh":
            out["label"] = out["label_zh"]
        return out.drop(columns="label_zh")


def _transform(x: np.ndarray) -> tuple[np.ndarray, str]:
    if np.nanstd(x) == 0:
        return np.zeros_like(x), "constant"
    skew = float(pd.Series(x).skew())
    if math.isfinite(skew) and abs(skew) > SKEW_LIMIT:
        if np.nanmin(x) >= 0:
            return np.log1p(x), "log1p"
        return np.sign(x) * np.log1p(np.abs(x)), "signed log1p"
    return x, "none"


def _words(column: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return WORDS.get(column, ((f"high {column}", f"{column}高"), (f"low {column}", f"{column}低")))


def cluster_accounts(
    features: pd.DataFrame,
    *,
    columns: Sequence[str] = CLUSTER_COLUMNS,
    k: int | None = None,
    k_range: Iterable[int] = range(2, 9),
    random_state: int = 0,
) -> ClusterResult:
    """Cluster accounts with k-means on standardised features; describe each cluster.

    Steps: (1) accounts with a missing value in any of ``columns`` are left out (listed in
    ``excluded``; never filled with 0 or a median); (2) a column whose skewness exceeds 1
    in absolute value is log-transformed — ``log1p(x)``, or ``sign(x)·log1p(|x|)`` when it
    has negative values (revenue and spend are heavily right-skewed; without this a few
    giants would form their own clusters); (3) every column is standardised to mean 0,
    standard deviation 1 (a constant column is ignored); (4) scikit-learn ``KMeans``
    (``n_init=10``, ``random_state``) for each k in ``k_range`` (or the given ``k``), and
    the k with the highest mean silhouette is chosen (ties: the smaller k; the silhouette
    is computed on a sample of 5,000 accounts when there are more).  Clusters are numbered
    by size, largest first.

    Each cluster's profile gives its size and the median of every column; its label
    names, for up to three columns, how the cluster's median compares with the overall
    median — measured in standard deviations of the transformed column, a difference of
    at least 0.5 earns a word (``large`` / ``small`` for revenue, ``growing`` /
    ``shrinking`` for growth, ``low share of wallet`` …; the three strongest, listed in the
    order of ``columns``), e.g. ``"large, growing, low share of wallet"``; a cluster that
    stands out nowhere is ``"typical"``.

    Parameters
    ----------
    features
        One row per account (``account_id`` column or index) with ``columns``.
    columns
        Numeric columns to cluster on (default :data:`CLUSTER_COLUMNS`).
    k
        The number of clusters; ``None`` chooses it by silhouette from ``k_range``.
    k_range
        The k tried when ``k`` is ``None`` (default 2–8); each must be at least 2 and
        below the number of accounts clustered.
    random_state
        Seed of the k-means initialisation and the silhouette sample.

    Returns
    -------
    ClusterResult
        ``.labels`` (``account_id, cluster``), ``.k``, ``.silhouette``, ``.profiles``,
        ``.to_frame(lang)``, ``.summary(lang)``.

    Raises
    ------
    DataValidationError
        Fewer than 3 accounts with every column known, or too few distinct accounts for
        any k tried.
    ConfigError
        Bad ``k`` / ``k_range`` / ``columns``.

    Examples
    --------
    >>> result = cluster_accounts(features, columns=["revenue_12m", "growth_12m"])  # doctest: +SKIP
    >>> result.profiles[["cluster", "size", "label"]]  # doctest: +SKIP
    """
    from sklearn.cluster import KMeans  # lazy: scikit-learn is slow to import
    from sklearn.metrics import silhouette_score

    columns = _check_columns(columns)
    frame = account_frame(features, "cluster_accounts")
    require_features(frame, list(columns), "cluster_accounts")
    raw = np.column_stack([numeric_column(frame, c, "cluster_accounts") for c in columns])
    complete = ~np.isnan(raw).any(axis=1)
    ids = frame["account_id"].to_numpy(dtype=object)
    n = int(complete.sum())
    if n < 3:
        raise DataValidationError(
            f"cluster_accounts: only {n} account(s) have a value in every column "
            f"({', '.join(columns)}); at least 3 are needed. Choose columns with fewer missing "
            "values."
        )
    x_raw = raw[complete]
    transforms: dict[str, str] = {}
    scaled = np.empty_like(x_raw)
    for j, col in enumerate(columns):
        t, how = _transform(x_raw[:, j])
        transforms[col] = how
        sd = t.std()
        scaled[:, j] = 0.0 if how == "constant" or sd == 0 else (t - t.mean()) / sd
    distinct = len(np.unique(scaled, axis=0))
    ks = _candidate_ks(k, k_range, n)
    silhouettes: dict[int, float] = {}
    fits: dict[int, np.ndarray] = {}
    sample = SILHOUETTE_SAMPLE if n > SILHOUETTE_SAMPLE else None
    for kk in ks:
        if kk > distinct:
            silhouettes[kk] = math.nan
            continue
        model = KMeans(n_clusters=kk, n_init=10, random_state=random_state)
        labels = model.fit_predict(scaled)
        fits[kk] = labels
        if len(np.unique(labels)) < 2:
            silhouettes[kk] = math.nan
            continue
        silhouettes[kk] = float(
            silhouette_score(scaled, labels, sample_size=sample, random_state=random_state)
        )
    usable = {kk: s for kk, s in silhouettes.items() if kk in fits}
    if not usable:
        raise DataValidationError(
            f"cluster_accounts: the {n} accounts have only {distinct} distinct combination(s) "
            f"of {', '.join(columns)}; too few for k in {list(ks)}."
        )
    if k is not None:
        chosen, how = k, "given"
    else:
        scored = {kk: s for kk, s in usable.items() if math.isfinite(s)}
        chosen = max(scored, key=lambda kk: (scored[kk], -kk)) if scored else min(usable)
        how = "silhouette"
    labels = _renumber(fits[chosen], ids[complete])
    cluster = pd.array(np.zeros(len(frame), dtype=int), dtype="Int64")
    cluster[complete] = labels
    cluster[~complete] = pd.NA
    profiles = _profiles(labels, x_raw, scaled, columns)
    return ClusterResult(
        labels=pd.DataFrame({"account_id": frame["account_id"].to_numpy(), "cluster": cluster}),
        k=int(chosen),
        silhouette=pd.Series(silhouettes, name="silhouette", dtype=float).rename_axis("k"),
        profiles=profiles,
        columns=tuple(columns),
        transforms=transforms,
        excluded=tuple(str(i) for i in ids[~complete]),
        chosen_by=how,
    )


def _check_columns(columns: Sequence[str]) -> tuple[str, ...]:
    if isinstance(columns, str) or not isinstance(columns, Sequence) or not columns:
        raise ConfigError(
            "The 'columns' parameter of cluster_accounts must be a non-empty list of numeric "
            f"column names, e.g. ['revenue_12m', 'growth_12m']. Got {columns!r} instead."
        )
    out = tuple(str(c) for c in columns)
    if len(set(out)) != len(out):
        raise ConfigError(
            f"The 'columns' parameter of cluster_accounts lists a column twice: {list(out)}."
        )
    return out


def _candidate_ks(k: int | None, k_range: Iterable[int], n: int) -> tuple[int, ...]:
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k < n:
            raise ConfigError(
                f"The 'k' parameter of cluster_accounts must be a whole number from 2 to "
                f"{n - 1} (below the {n} accounts clustered). Got {k!r} instead."
            )
        return (int(k),)
    try:
        ks = sorted({int(v) for v in k_range})
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"The 'k_range' parameter of cluster_accounts must be whole numbers, e.g. "
            f"range(2, 9). Got {k_range!r} instead."
        ) from exc
    bad = [v for v in ks if v < 2]
    if bad or not ks:
        raise ConfigError(
            f"The 'k_range' parameter of cluster_accounts must hold numbers of clusters of at "
            f"least 2. Got {ks!r} instead."
        )
    ks = [v for v in ks if v < n]
    if not ks:
        raise DataValidationError(
            f"cluster_accounts: only {n} accounts can be clustered; every k in k_range needs "
            "more accounts than clusters."
        )
    return tuple(ks)


def _renumber(labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Clusters numbered by size (largest 0), ties by their smallest account_id."""
    keys = []
    for lab in np.unique(labels):
        members = ids[labels == lab]
        keys.append((-len(members), min(members), lab))
    mapping = {lab: i for i, (_s, _m, lab) in enumerate(sorted(keys))}
    return np.array([mapping[lab] for lab in labels], dtype=int)


def _profiles(
    labels: np.ndarray, x_raw: np.ndarray, scaled: np.ndarray, columns: tuple[str, ...]
) -> pd.DataFrame:
    overall = np.median(scaled, axis=0)
    n = len(labels)
    rows = []
    for c in range(int(labels.max()) + 1):
        mask = labels == c
        row: dict[str, object] = {"cluster": c, "size": int(mask.sum()), "share": mask.sum() / n}
        for j, col in enumerate(columns):
            row[col] = float(np.median(x_raw[mask, j]))
        diff = np.median(scaled[mask], axis=0) - overall
        strongest = sorted(
            (j for j in range(len(columns)) if abs(diff[j]) >= LABEL_THRESHOLD),
            key=lambda j: (-abs(diff[j]), j),
        )[:LABEL_WORDS]
        order = sorted(strongest)  # the strongest deviations, read in column order
        en, zh = [], []
        for j in order:
            high, low = _words(columns[j])
            word = high if diff[j] > 0 else low
            en.append(word[0])
            zh.append(word[1])
        row["label"] = ", ".join(en) if en else "typical"
        row["label_zh"] = "、".join(zh) if zh else "典型"
        rows.append(row)
    return pd.DataFrame(rows)
