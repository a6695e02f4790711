"""Rule expressions: the small, safe language of tags, filters, target groups and RFM segments.

A rule is one Python-like expression over the columns of an account table::

    annual_revenue >= 1e9 and share_of_wallet < 0.05
    growth_12m > 0.2 or region in ['华东', '华南']
    not (recency_days < 90) and revenue_12m / category_spend < 0.1

It is parsed with :mod:`ast` and checked against a whitelist; it is **never** passed to
``eval``.  Allowed:

- field names (columns of the table: features, tags, scores …) and literals: numbers
  (``0.2``, ``1e9``, ``1_000_000``), text in quotes, ``True`` / ``False``;
- comparisons ``== != < <= > >=`` (chains like ``0.05 <= share_of_wallet < 0.15`` too);
  text only with ``==``, ``!=``, ``in``, ``not in``;
- ``in`` / ``not in`` followed by a list (or tuple) of literals;
- ``and``, ``or``, ``not``, parentheses;
- arithmetic ``+ - * /`` and unary ``-`` on numbers.

Everything else is refused with a :class:`~kamlib.errors.ConfigError` naming the rule and
the construct: calls (``__import__('os')``, ``open(...)``), attribute access, indexing,
``lambda``, comprehensions, ``if``-expressions, ``:=``, f-strings, ``**`` and the other
operators, names starting with ``_``.  An unknown field names the rule, suggests the closest
valid field and lists them all.

Missing values (three-valued logic, as in SQL)
----------------------------------------------
A comparison with a missing value (NaN / NA) is *unknown*; ``and`` / ``or`` / ``not``
follow Kleene's logic (``unknown or True`` is True, ``unknown and False`` is False,
``not unknown`` is unknown) and an account whose rule ends *unknown* does **not** match.
So for an account without ``growth_12m`` both ``growth_12m > 0.2`` and
``growth_12m <= 0.2`` are False, and so is ``not growth_12m > 0.2``: a missing value is
never silently read as 0.  Division by zero gives a missing value, not infinity.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError

__all__ = ["MAX_RULE_DEPTH", "MAX_RULE_LENGTH", "Rule", "field_kind", "parse_rule"]

#: Longest rule accepted (characters); longer text is refused before parsing.
MAX_RULE_LENGTH = 2000
#: Deepest nesting accepted: operations inside operations (``not not …``, a sum of many
#: terms ``a + b + c …`` — each ``+`` nests the sum so far, ``((…))``).  Deeper rules are
#: refused with a ConfigError rather than exhausting Python's recursion limit.
MAX_RULE_DEPTH = 50

#: Value kinds of fields: number, text, bool (a tag, a yes/no column).
KINDS = ("number", "text", "bool")

_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Compare, ast.Eq, ast.NotEq, ast.Lt,
    ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Name, ast.Load, ast.Constant, ast.List,
    ast.Tuple,
)  # fmt: skip

_REFUSED: dict[type, str] = {
    ast.Call: "calls are not allowed",
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "indexing is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.IfExp: "'... if ... else ...' is not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed; write a list: [..]",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Is: "'is' is not allowed; use == or !=",
    ast.IsNot: "'is not' is not allowed; use == or !=",
    ast.Pow: "operator '**' is not allowed; use + - * /",
    ast.FloorDiv: "operator '//' is not allowed; use + - * /",
    ast.Mod: "operator '%' is not allowed; use + - * /",
    ast.MatMult: "operator '@' is not allowed; use + - * /",
    ast.BitAnd: "operator '&' is not allowed; use 'and'",
    ast.BitOr: "operator '|' is not allowed; use 'or'",
    ast.BitXor: "operator '^' is not allowed",
    ast.LShift: "operator '<<' is not allowed",
    ast.RShift: "operator '>>' is not allowed",
    ast.Invert: "operator '~' is not allowed; use 'not'",
}

_HELP = (
    "A rule compares fields with numbers or quoted text (== != < <= > >=, in [..]), "
    "combines comparisons with and / or / not, and may use + - * / on numbers; "
    "e.g. growth_12m > 0.2 and region in ['华东', '华南']."
)


def field_kind(column: pd.Series) -> str | None:
    """The rule kind of a column: ``bool``, ``number``, ``text``, or ``None`` (unusable:
    dates, mixed objects that are not text)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return field_kind(pd.Series(dtype.categories))
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_object_dtype(dtype):
        values = column.dropna()
        return "text" if values.map(lambda v: isinstance(v, str)).all() else None
    if pd.api.types.is_string_dtype(dtype):
        return "text"
    return None


@dataclass(frozen=True)
class Rule:
    """A parsed, whitelisted rule (see the module docstring); build it with
    :func:`parse_rule`.

    ``where`` names the rule in messages (``"Tag rule 'growing'"``); ``fields`` lists the
    field names it reads, in order of first use.
    """

    text: str
    where: str
    fields: tuple[str, ...]
    tree: ast.Expression = field(repr=False, compare=False)

    def evaluate(self, frame: pd.DataFrame, *, valid: Iterable[str] | None = None) -> pd.Series:
        """Evaluate on every row of ``frame``: a boolean Series (same index), False where
        the rule is False or unknown.

        ``valid`` names the fields a user may use, for the "unknown field" message (the
        frame's columns by default); a field in ``valid`` but absent from ``frame`` is an
        error too.
        """
        true, _false = self.evaluate_kleene(frame, valid=valid)
        return pd.Series(true, index=frame.index, dtype=bool)

    def evaluate_kleene(
        self, frame: pd.DataFrame, *, valid: Iterable[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(true, false) masks; rows in neither are unknown."""
        names = list(frame.columns) if valid is None else list(valid)
        for name in self.fields:
            if name not in frame.columns:
                raise ConfigError(_unknown_field(self, name, names))
        value = _Evaluator(self, frame).visit(self.tree.body)
        if value.kind != "bool":
            raise ConfigError(
                f"{self.where} ({self.text!r}) gives a {value.kind}, not true/false. "
                f"Compare it, e.g. {self.text.strip()} > 0. {_HELP}"
            )
        return value.true, value.false

    def check_kinds(self, kinds: Mapping[str, str]) -> None:
        """Type-check against field kinds (``number`` / ``text`` / ``bool``) without data;
        fields of another kind (``any``) skip the check."""
        if any(kinds.get(f) not in KINDS for f in self.fields):
            return
        dtypes = {"number": "float64", "text": "str", "bool": "bool"}
        empty = pd.DataFrame({f: pd.Series([], dtype=dtypes[kinds[f]]) for f in self.fields})
        self.evaluate_kleene(empty)


def parse_rule(text: Any, *, where: str, fields: Iterable[str] | None = None) -> Rule:
    """Parse and whitelist-check a rule.

    Parameters
    ----------
    text
        The rule, e.g. ``"growth_12m > 0.2"``.
    where
        How messages name the rule, e.g. ``"Tag rule 'growing'"``.
    fields
        The valid field names; ``None`` leaves the names to be checked at evaluation.

    Raises
    ------
    ConfigError
        Not text, too long, not an expression, a construct outside the whitelist, a field
        not in ``fields``.
    """
    if not isinstance(text, str):
        raise ConfigError(
            f'{where}: a rule must be text, e.g. "growth_12m > 0.2". Got {text!r} instead.'
        )
    if not text.strip():
        raise ConfigError(f"{where}: the rule is empty. {_HELP}")
    if len(text) > MAX_RULE_LENGTH:
        raise ConfigError(
            f"{where}: the rule is {len(text)} characters long; at most {MAX_RULE_LENGTH} "
            "are allowed. Split it into tags and combine them."
        )
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        hint = " Use == to compare." if _looks_like_assignment(source) else ""
        raise ConfigError(
            f"{where}: {source!r} is not a valid rule ({exc.msg} at column "
            f"{exc.offset or 0}).{hint} {_HELP}"
        ) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ConfigError(
            f"{where}: the rule is not valid: it nests too deeply to read (at most "
            f"{MAX_RULE_DEPTH} levels). Split it into tags and combine them."
        ) from exc
    depth = _depth(tree)
    if depth > MAX_RULE_DEPTH:
        raise ConfigError(
            f"{where}: the rule nests {depth} levels deep (each 'not', each '+ - * /' of a long "
            f"sum adds one); at most {MAX_RULE_DEPTH} are allowed. Split "
            "it into tags and combine them, or write a long sum as a feature."
        )
    _check_nodes(tree, source, where)
    names = list(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))
    rule = Rule(text=source, where=where, fields=tuple(names), tree=tree)
    if fields is not None:
        valid = list(fields)
        for name in names:
            if name not in valid:
                raise ConfigError(_unknown_field(rule, name, valid))
    return rule


def _depth(tree: ast.AST) -> int:
    """The deepest chain of expressions inside expressions (computed without recursion)."""
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            depth += 1
            deepest = max(deepest, depth)
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    return deepest


def _looks_like_assignment(text: str) -> bool:
    stripped = text.replace("==", "").replace("<=", "").replace(">=", "").replace("!=", "")
    return "=" in stripped


def _snippet(node: ast.AST, source: str) -> str:
    segment = ast.get_source_segment(source, node) or ""
    return segment if len(segment) <= 40 else segment[:37] + "..."


def _check_nodes(tree: ast.AST, source: str, where: str) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ConfigError(
                f"{where}: names starting with '_' are not allowed (found {node.id!r} in "
                f"{source!r}). {_HELP}"
            )
        if isinstance(node, ast.Constant) and (
            node.value is None or not isinstance(node.value, (bool, int, float, str))
        ):
            raise ConfigError(
                f"{where}: the literal {_snippet(node, source)!r} is not allowed; use numbers, "
                f"quoted text, True or False. {_HELP}"
            )
        if isinstance(node, _ALLOWED):
            continue
        what = next((msg for kind, msg in _REFUSED.items() if isinstance(node, kind)), None)
        what = what or f"'{type(node).__name__}' is not allowed"
        snippet = _snippet(node, source)
        found = f" (found {snippet!r})" if snippet else ""
        raise ConfigError(f"{where}: {what}{found} in {source!r}. {_HELP}")
    # lists only right after in / not in
    allowed_lists: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.List, ast.Tuple)):
                    allowed_lists.add(id(right))
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            if id(node) not in allowed_lists:
                raise ConfigError(
                    f"{where}: a list can only follow 'in' or 'not in' (found "
                    f"{_snippet(node, source)!r} in {source!r}). {_HELP}"
                )
            for item in node.elts:
                if _literal(item) is None:
                    raise ConfigError(
                        f"{where}: a list after 'in' may hold only numbers and quoted text "
                        f"(found {_snippet(item, source)!r} in {source!r})."
                    )


def _literal(node: ast.AST) -> tuple[str, Any] | None:
    """(kind, value) of a literal list item (numbers may carry a unary minus)."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
        if not isinstance(node, ast.Constant) or isinstance(node.value, (str, bool)):
            return None
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", sign * float(value))
    if isinstance(value, str):
        return ("text", value)
    return None


def _unknown_field(rule: Rule, name: str, valid: list[str]) -> str:
    hint = difflib.get_close_matches(name, valid, n=1)
    did = f" Did you mean '{hint[0]}'?" if hint else ""
    listing = ", ".join(valid) if valid else "(none)"
    return (
        f"{rule.where} ({rule.text!r}) uses unknown field '{name}'.{did} Valid fields: {listing}."
    )


# -- evaluation --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Value:
    """A column of values of one kind.

    number: ``values`` float array (NaN = missing); text: ``values`` object array and
    ``missing`` mask; bool: ``true`` / ``false`` masks (neither = unknown).
    """

    kind: str
    values: np.ndarray | None = None
    missing: np.ndarray | None = None
    true: np.ndarray | None = None
    false: np.ndarray | None = None

    @property
    def known(self) -> np.ndarray:
        if self.kind == "number":
            return ~np.isnan(self.values)
        if self.kind == "text":
            return ~self.missing
        return self.true | self.false


def _boolean(true: np.ndarray, false: np.ndarray) -> _Value:
    return _Value("bool", true=true, false=false)


class _Evaluator:
    def __init__(self, rule: Rule, frame: pd.DataFrame) -> None:
        self.rule = rule
        self.frame = frame
        self.n = len(frame)

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.rule.where} ({self.rule.text!r}): {message}")

    def visit(self, node: ast.AST) -> _Value:
        if isinstance(node, ast.BoolOp):
            return self.bool_op(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Constant):
            return self.constant(node.value)
        raise self.fail(f"a {type(node).__name__} cannot stand here. {_HELP}")

    # leaves
    def name(self, name: str) -> _Value:
        column = self.frame[name]
        kind = field_kind(column)
        if kind == "number":
            return _Value("number", values=column.to_numpy(dtype=float, na_value=np.nan))
        if kind == "text":
            missing = column.isna().to_numpy(dtype=bool)
            return _Value("text", values=column.to_numpy(dtype=object), missing=missing)
        if kind == "bool":
            missing = column.isna().to_numpy(dtype=bool)
            values = column.to_numpy(dtype=bool, na_value=False)
            return _boolean(values & ~missing, ~values & ~missing)
        raise self.fail(
            f"field '{name}' holds {column.dtype} values; rules compare numbers, text and "
            "yes/no fields (for dates use recency_days, tenure_days …)."
        )

    def constant(self, value: Any) -> _Value:
        n = self.n
        if isinstance(value, bool):
            return _boolean(np.full(n, value), np.full(n, not value))
        if isinstance(value, (int, float)):
            return _Value("number", values=np.full(n, float(value)))
        return _Value("text", values=np.full(n, value, dtype=object), missing=np.zeros(n, bool))

    # operators
    def bool_op(self, node: ast.BoolOp) -> _Value:
        parts = [self.as_bool(v, node) for v in node.values]
        true, false = parts[0].true, parts[0].false
        for p in parts[1:]:
            if isinstance(node.op, ast.And):
                true, false = true & p.true, false | p.false
            else:
                true, false = true | p.true, false & p.false
        return _boolean(true, false)

    def as_bool(self, value_node: ast.AST, parent: ast.AST) -> _Value:
        value = self.visit(value_node)
        if value.kind != "bool":
            what = _describe(value_node)
            raise self.fail(
                f"{what} is {value.kind}, not true/false; compare it (e.g. {what} > 0) before "
                "using and / or / not."
            )
        return value

    def unary(self, node: ast.UnaryOp) -> _Value:
        if isinstance(node.op, ast.Not):
            value = self.as_bool(node.operand, node)
            return _boolean(value.false, value.true)
        value = self.visit(node.operand)
        if value.kind != "number":
            raise self.fail(
                f"unary minus needs a number; {_describe(node.operand)} is {value.kind}."
            )
        return _Value(
            "number", values=-value.values if isinstance(node.op, ast.USub) else value.values
        )

    def arithmetic(self, node: ast.BinOp) -> _Value:
        left, right = self.visit(node.left), self.visit(node.right)
        for side, value in ((node.left, left), (node.right, right)):
            if value.kind != "number":
                raise self.fail(f"arithmetic needs numbers; {_describe(side)} is {value.kind}.")
        a, b = left.values, right.values
        with np.errstate(all="ignore"):
            if isinstance(node.op, ast.Add):
                out = a + b
            elif isinstance(node.op, ast.Sub):
                out = a - b
            elif isinstance(node.op, ast.Mult):
                out = a * b
            else:
                out = np.where(b == 0, np.nan, a / np.where(b == 0, 1.0, b))
        return _Value("number", values=np.asarray(out, dtype=float))

    def compare(self, node: ast.Compare) -> _Value:
        n = self.n
        true, false = np.ones(n, bool), np.zeros(n, bool)
        left_node = node.left
        left = self.visit(left_node)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                part = self.membership(left, left_node, op, right_node)
                right = None
            else:
                right = self.visit(right_node)
                part = self.compare_pair(left, left_node, op, right, right_node)
            true, false = true & part.true, false | part.false
            if right is None:
                break  # 'x in [...]' ends a chain (a list cannot be compared further)
            left, left_node = right, right_node
        return _boolean(true, false)

    def compare_pair(
        self, left: _Value, left_node: ast.AST, op: ast.cmpop, right: _Value, right_node: ast.AST
    ) -> _Value:
        if left.kind != right.kind:
            raise self.fail(
                f"{_describe(left_node)} ({left.kind}) is compared with {_describe(right_node)} "
                f"({right.kind}); compare numbers with numbers and text with quoted text."
            )
        known = left.known & right.known
        if left.kind == "bool":
            if not isinstance(op, (ast.Eq, ast.NotEq)):
                raise self.fail("true/false values can only be compared with == or !=.")
            equal = (left.true & right.true) | (left.false & right.false)
            result = equal if isinstance(op, ast.Eq) else ~equal
        elif left.kind == "text":
            if not isinstance(op, (ast.Eq, ast.NotEq)):
                raise self.fail(
                    f"text ({_describe(left_node)}) can only be compared with ==, !=, in or not in."
                )
            equal = np.zeros(self.n, bool)
            if known.any():
                equal[known] = left.values[known] == right.values[known]
            result = equal if isinstance(op, ast.Eq) else ~equal
        else:
            a, b = left.values, right.values
            with np.errstate(invalid="ignore"):
                if isinstance(op, ast.Eq):
                    result = a == b
                elif isinstance(op, ast.NotEq):
                    result = a != b
                elif isinstance(op, ast.Lt):
                    result = a < b
                elif isinstance(op, ast.LtE):
                    result = a <= b
                elif isinstance(op, ast.Gt):
                    result = a > b
                else:
                    result = a >= b
        return _boolean(result & known, ~result & known)

    def membership(
        self, left: _Value, left_node: ast.AST, op: ast.cmpop, right_node: ast.AST
    ) -> _Value:
        if not isinstance(right_node, (ast.List, ast.Tuple)):
            raise self.fail(
                f"'in' must be followed by a list, e.g. region in ['华东', '华南'] (found "
                f"{_describe(right_node)})."
            )
        items = [_literal(e) for e in right_node.elts]
        kinds = {item[0] for item in items if item is not None}
        if kinds - {left.kind}:
            other = sorted(kinds - {left.kind})[0]
            raise self.fail(
                f"{_describe(left_node)} ({left.kind}) is looked up in a list of {other}; the "
                "list must hold values of the same kind."
            )
        known = left.known
        values = [item[1] for item in items if item is not None]
        if left.kind == "number":
            hit = np.isin(left.values, np.array(values, dtype=float))
        elif left.kind == "text":
            hit = np.zeros(self.n, bool)
            hit[known] = pd.Series(left.values[known], dtype=object).isin(values).to_numpy()
        else:
            hit = (left.true & (True in values)) | (left.false & (False in values))
        if isinstance(op, ast.NotIn):
            hit = ~hit
        return _boolean(hit & known, ~hit & known)


def _describe(node: ast.AST) -> str:
    # every node comes from ast.parse of the rule text, which ast.unparse always handles
    return ast.unparse(node)
