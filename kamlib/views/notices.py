"""What every view shares: the data and methodology arguments resolved once, and notices.

A view turns analysis into what one report notebook shows.  When a section cannot be
computed because of the user's data or settings (a :class:`~kamlib.errors.KamlibError`), the
view records a *notice* — the section and the message — and the report goes on; a bug in
kamlib (any other exception) is not caught and stops the report.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from kamlib.data import KamData, load
from kamlib.errors import ConfigError, KamlibError, KamlibWarning
from kamlib.methodology.labels import check_lang, label

NOTICE_COLUMNS = ["section", "message"]


def resolve_data(data: KamData | str | Path, *, owner: str) -> KamData:
    """A view's ``data`` argument: a :class:`KamData`, or the path of a store (loaded)."""
    if isinstance(data, KamData):
        return data
    if isinstance(data, str | Path):
        return load(data)
    raise ConfigError(
        f"The 'data' parameter of {owner} must be a KamData (kamlib.data.load(store)) or the "
        f"path of a store. Got {type(data).__name__} instead."
    )


def resolve_account(
    data: KamData, account_id: str | None, *, as_of: object, notices: Notices, owner: str
) -> str:
    """A per-account view's ``account_id``: the one given, or — when empty, as in a report
    notebook opened as shipped — the account with the most revenue in the 12 months to
    ``as_of``, with a notice saying which and how to choose another."""
    if account_id is not None and str(account_id).strip():
        return str(account_id).strip()
    from kamlib.segmentation.groups import target_group

    top = target_group(data, "top1", as_of=as_of)
    if top.empty:
        raise ConfigError(
            f"{owner}: no account_id was given and no account has revenue in the 12 months "
            f"to {as_of}: pass account_id=… (e.g. kam report {owner} -p account_id=ID)."
        )
    chosen, name = str(top["account_id"].iloc[0]), top["name"].iloc[0]
    notices.add(
        owner,
        f"No account_id was given: this is {name} ({chosen}), the account with the most "
        f"revenue in the 12 months to {as_of}. Set account_id in the parameters cell (or "
        f"kam report {owner} -p account_id=ID) for another.",
    )
    return chosen


class Notices:
    """The notices of one view: ``(section, message)`` rows, each kept once, in order."""

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def add(self, section: str, message: str) -> None:
        row = {"section": section, "message": message}
        if row not in self.rows:
            self.rows.append(row)

    def state_revenue_basis(self, data: KamData) -> None:
        """Say where revenue comes from when it is not order lines (won deals stand in for
        purchases: :mod:`kamlib.data.purchases`); every view that shows revenue calls it."""
        if data.revenue_statement:
            self.add("revenue_basis", data.revenue_statement)

    @contextmanager
    def warnings(self, section: str, *, keep: bool = True) -> Iterator[None]:
        """Collect kamlib's warnings raised inside the block as notices of ``section``
        (``keep=False``: drop them, e.g. for scorings of other dates whose data-quality
        warnings repeat the report date's).  Warnings not of kamlib pass through unchanged."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", KamlibWarning)
            try:
                yield
            finally:
                recorded = list(caught)
        for w in recorded:
            if issubclass(w.category, KamlibWarning):
                if keep:
                    self.add(section, str(w.message))
            else:  # not ours: let it through as it was
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)

    @contextmanager
    def section(self, section: str, *, keep: bool = True) -> Iterator[None]:
        """Run one section: a :class:`KamlibError` inside becomes a notice of ``section``
        (and the block ends there); kamlib's warnings become notices too (``keep=False``:
        dropped, as in :meth:`warnings`); bugs raise."""
        with self.warnings(section, keep=keep):
            try:
                yield
            except KamlibError as exc:
                self.add(section, str(exc))

    def frame(self) -> pd.DataFrame:
        """``section, message`` with the section keys untranslated."""
        return pd.DataFrame(self.rows, columns=NOTICE_COLUMNS).astype(str)

    def table(self, lang: str = "en") -> pd.DataFrame:
        """``section, message`` with the section names translated into ``lang``."""
        return notices_table(self.frame(), lang)


def notices_table(notices: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A ``section, message`` frame (section label keys) with the sections in ``lang``: what
    a view's notices table shows."""
    check_lang(lang)
    return pd.DataFrame(
        {
            "section": [label(s, lang) for s in notices["section"]],
            "message": notices["message"].to_numpy(),
        },
        columns=NOTICE_COLUMNS,
    )
