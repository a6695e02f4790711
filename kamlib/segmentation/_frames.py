"""Small helpers shared by the segmentation modules: account frames, columns, languages."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kamlib.errors import ConfigError, DataValidationError
from kamlib.frames import require_columns


def account_frame(features: Any, who: str) -> pd.DataFrame:
    """``features`` with ``account_id`` as a text column (it may come as the index, as from
    :func:`kamlib.features.account_features`); one row per account is checked."""
    if not isinstance(features, pd.DataFrame):
        raise DataValidationError(
            f"The 'features' parameter of {who} must be a pandas DataFrame with an "
            f"'account_id' column (or index). Got {type(features).__name__} instead."
        )
    frame = features
    if "account_id" not in frame.columns:
        if "account_id" not in frame.index.names:
            raise DataValidationError(
                f"Required column 'account_id' missing from the frame given to {who} (as a "
                "column or as the index)."
            )
        frame = frame.reset_index()
    ids = frame["account_id"]
    if ids.isna().any():
        raise DataValidationError(
            f"Column 'account_id' of the frame given to {who} has {int(ids.isna().sum())} empty "
            "value(s); every row must name its account."
        )
    ids = ids.astype("str")
    dupes = ids[ids.duplicated()]
    if len(dupes):
        raise DataValidationError(
            f"The frame given to {who} has {len(dupes)} duplicate account_id value(s), e.g. "
            f"{dupes.iloc[0]!r}; it must have one row per account."
        )
    out = frame.reset_index(drop=True)
    out["account_id"] = ids.to_numpy()
    return out


def require_features(frame: pd.DataFrame, columns: list[str], who: str) -> None:
    """The feature columns an analysis of ``who`` needs (the fix: compute them)."""
    require_columns(
        frame, columns, f"the frame given to {who}",
        fix="Compute it with kamlib.features.account_features or choose another column.",
    )  # fmt: skip


def check_lang(lang: str) -> str:
    if lang not in ("en", "zh"):
        raise ConfigError(f"The 'lang' parameter must be 'en' or 'zh'. Got {lang!r} instead.")
    return lang
