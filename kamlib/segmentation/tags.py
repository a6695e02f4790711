"""Static and dynamic tags (静态/动态标签) and rule filters over account features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from kamlib.errors import ConfigError
from kamlib.frames import require_columns
from kamlib.methodology import KNOWN_FEATURES, Methodology, TagRule, load_methodology, parse_tags
from kamlib.methodology.rules import Rule, parse_rule
from kamlib.segmentation._frames import account_frame

__all__ = ["filter_accounts", "tag_accounts", "tag_rules"]

TagRules = Methodology | Mapping[str, Any] | Sequence[TagRule] | None


def tag_rules(rules: TagRules) -> tuple[TagRule, ...]:
    """The tag rules of a methodology, a mapping ``name: rule`` (or ``name: {rule, label}``,
    validated like the methodology file's ``tags`` section) or a sequence of
    :class:`~kamlib.methodology.TagRule`; ``None`` is kamlib's default methodology."""
    if rules is None:
        return load_methodology().tags
    if isinstance(rules, Methodology):
        return rules.tags
    if isinstance(rules, Mapping):
        return _adhoc_tags(rules)
    if (
        isinstance(rules, Sequence)
        and not isinstance(rules, str)
        and all(isinstance(r, TagRule) for r in rules)
    ):
        return tuple(rules)
    raise ConfigError(
        "The 'rules' parameter must be a Methodology, a mapping of tag name to rule (e.g. "
        "{'growing': 'growth_12m > 0.2'}), a sequence of TagRule or None. Got "
        f"{type(rules).__name__} instead."
    )


def _adhoc_tags(rules: Mapping[str, Any]) -> tuple[TagRule, ...]:
    """Tags given in code: checked like the methodology file's, except that the fields are
    checked against the features frame when the tags are evaluated (so any column works)."""
    static = {name for name, (kind, _t) in KNOWN_FEATURES.items() if kind == "static"}
    out: list[TagRule] = []
    for name, item in rules.items():
        spec = {"rule": item} if isinstance(item, str) else item
        if not isinstance(spec, Mapping) or "rule" not in spec:
            raise ConfigError(
                f"Tag '{name}': give the rule as text or as {{rule, label, description}}. "
                f"Got {item!r} instead."
            )
        # the file's validation of names, labels and keys, with every field accepted
        rule = parse_rule(spec["rule"], where=f"Tag rule '{name}'")
        probe = parse_tags({name: {**spec, "rule": "True"}}, source="tag rules")[0]
        kind = "static" if all(f in static for f in rule.fields) else "dynamic"
        out.append(
            TagRule(name=str(name), rule=rule.text, kind=kind, fields=rule.fields,
                    label_en=probe.label_en, label_zh=probe.label_zh,
                    description=probe.description)
        )  # fmt: skip
        static |= {str(name)} if kind == "static" else set()
    return tuple(out)


def _usable(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != "account_id"]


def _check_fields(rule: Rule, frame: pd.DataFrame, valid: list[str]) -> None:
    """Unknown field → ConfigError; a known feature the frame lacks → DataValidationError."""
    for name in rule.fields:
        if name in frame.columns:
            continue
        if name in KNOWN_FEATURES:
            require_columns(
                frame, [name], "the features frame", why=f"{rule.where} needs it",
                fix="Compute it with kamlib.features.account_features.",
            )  # fmt: skip
        rule.evaluate(frame.iloc[:0], valid=valid)  # raises the unknown-field message


def tag_accounts(features: pd.DataFrame, rules: TagRules = None) -> pd.DataFrame:
    """Evaluate tag rules for every account.

    Parameters
    ----------
    features
        One row per account: ``account_id`` (column or index) and the feature columns the
        rules read (as from :func:`kamlib.features.account_features`).  Not modified.
    rules
        The tags: a :class:`~kamlib.methodology.Methodology` (its ``tags`` section), a mapping
        ``{name: rule}``, a sequence of :class:`~kamlib.methodology.TagRule`, or ``None`` for
        kamlib's default methodology.  A rule may use the tags before it.

    Returns
    -------
    pandas.DataFrame
        ``account_id`` and one ``bool`` column per tag, in the order of the features frame.
        **A rule whose value is unknown for an account — a feature it needs is missing
        (NaN) — is False** for that account (see :mod:`kamlib.methodology.rules`).

    Raises
    ------
    ConfigError
        A rule naming an unknown field (the message names the rule and lists the valid
        fields), or a construct outside the rule language (a call, attribute access …).
    DataValidationError
        A feature column a rule needs is missing from ``features``.

    Examples
    --------
    >>> tag_accounts(features, {"growing": "growth_12m > 0.2"})  # doctest: +SKIP
      account_id  growing
    0      A0001     True
    """
    frame = account_frame(features, "tag_accounts")
    tags = tag_rules(rules)
    work = frame.copy(deep=False)
    out = pd.DataFrame({"account_id": frame["account_id"].to_numpy()})
    for tag in tags:
        rule = parse_rule(tag.rule, where=f"Tag rule '{tag.name}'")
        if tag.name in frame.columns:
            raise ConfigError(
                f"Tag '{tag.name}' has the name of a column of the features frame; rename the tag."
            )
        _check_fields(rule, work, _usable(work))
        values = rule.evaluate(work).to_numpy()
        out[tag.name] = values
        work = work.assign(**{tag.name: values})
    return out


def filter_accounts(
    features: pd.DataFrame, expression: str, *, tags: TagRules | bool = False
) -> pd.DataFrame:
    """The rows of ``features`` for which ``expression`` is true.

    Parameters
    ----------
    features
        One row per account (``account_id`` as a column or the index).  Not modified.
    expression
        A rule (see :mod:`kamlib.methodology.rules`), e.g.
        ``"growing and region in ['华东', '华南']"``.  Rows where it is unknown (a feature
        it needs is missing) are left out.
    tags
        Make tag names usable in the expression: a methodology / mapping / sequence of tag
        rules as for :func:`tag_accounts`, or ``True`` for kamlib's default methodology's
        tags.  ``False`` (default): only the frame's columns.

    Returns
    -------
    pandas.DataFrame
        The matching rows of ``features``, unchanged and in their order (same index).

    Examples
    --------
    >>> filter_accounts(features, "annual_revenue >= 1e9 and share_of_wallet < 0.05")  # doctest: +SKIP
    """
    frame = account_frame(features, "filter_accounts")
    work = frame
    if tags is not False:
        tagged = tag_accounts(frame, None if tags is True else tags)
        extra = tagged.drop(columns="account_id")
        work = frame.assign(**{c: extra[c].to_numpy() for c in extra.columns})
    rule = parse_rule(expression, where="Filter")
    _check_fields(rule, work, _usable(work))
    mask = rule.evaluate(work).to_numpy()
    return features[mask]
