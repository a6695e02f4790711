"""Helpers on account-level frames shared by the analysis modules (scoring, segmentation)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamlib.errors import DataValidationError


def numeric_column(
    frame: pd.DataFrame, column: str, who: str, *, hint: str = "", place: str | None = None
) -> np.ndarray:
    """A column as float64 (NaN = missing); text that is not a number is an error.

    The message says the column was "given to ``who``" (or ``place``, e.g. "of the features
    frame"); ``hint`` is appended as the fix to suggest.
    """
    col = frame[column]
    if pd.api.types.is_bool_dtype(col.dtype):
        col = col.astype("Float64")
    converted = pd.to_numeric(col, errors="coerce")
    bad = converted.isna() & col.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(
            f"Column '{column}' {place or 'given to ' + who} holds {col.iloc[i]!r} (account "
            f"{frame['account_id'].iloc[i]!r}): expected a number.{' ' + hint if hint else ''}"
        )
    return converted.to_numpy(dtype=float, na_value=np.nan)
