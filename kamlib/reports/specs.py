"""What a report is: the report notebooks, what each declares, and its parameter values.

A report ``NAME`` is the notebook ``NAME.ipynb`` in the notebook directory
(``$KAMLIB_NOTEBOOKS``, else ``notebooks/``).  :func:`load_report` reads its ``kamlib``
metadata and, with papermill's ``inspect_notebook``, its parameters into a :class:`ReportSpec`;
:func:`convert_parameter` turns a value (text from the command line, or a typed value) into
the type a parameter declares.  The conventions a report notebook follows are described in
:mod:`kamlib.reports.engine`.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kamlib.errors import ReportError
from kamlib.periods import normalise_frequency
from kamlib.reports import layout

#: The import batch a report reads (pinned by the engine when it plans the report).
SNAPSHOT_PARAMETER = "snapshot"
STANDARD_PARAMETERS: tuple[str, ...] = ("store", "as_of", "lang", SNAPSHOT_PARAMETER)
#: Notebooks that declare this parameter receive the engine's methodology file.
METHODOLOGY_PARAMETER = "methodology"
ACCOUNT_PARAMETER = "account_id"
LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_FREQUENCY = "monthly"
NOTEBOOK_DIR_ENV = "KAMLIB_NOTEBOOKS"
SUPPORTED_TYPES = ("str", "int", "float", "bool", "list[str]", "list[int]", "list[float]")


# -- what a report notebook declares ---------------------------------------------------------------
@dataclass(frozen=True)
class Parameter:
    """One parameter of a report notebook, as papermill's ``inspect_notebook`` reads it."""

    name: str
    type: str  # the annotation: str, int, float, bool, list[str] … ("None": not annotated)
    default: str  # the default as written in the notebook
    help: str

    def describe(self) -> str:
        """``as_of (str, default "2026-09-30"): last day of the reporting period``."""
        text = f"{self.name} ({self.type}, default {self.default})"
        return f"{text}: {self.help}" if self.help else text

    @property
    def default_value(self) -> Any:
        """The default as a Python value when it is a literal, else the text as written."""
        try:
            return ast.literal_eval(self.default)
        except (ValueError, SyntaxError):
            return self.default


@dataclass(frozen=True)
class ReportSpec:
    """A report notebook: where it is, what it is called, what it takes."""

    name: str
    path: Path
    title: Mapping[str, str]
    per_account: bool
    frequency: str
    parameters: Mapping[str, Parameter]
    parameters_cell: int | None  # index of the cell tagged "parameters"
    imports: tuple[str, ...]  # modules the notebook imports (preloaded in warm kernels)
    sha256: str
    needs: tuple[str, ...] = ()  # what the store must hold: table names or "revenue"

    def title_for(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("en") or self.name

    def describe_parameters(self) -> str:
        return "; ".join(p.describe() for p in self.parameters.values())


def default_notebook_dir() -> Path:
    """``$KAMLIB_NOTEBOOKS`` if set, else ``notebooks/`` in the working directory."""
    return Path(os.environ.get(NOTEBOOK_DIR_ENV) or "notebooks")


def available_reports(notebook_dir: Path | str | None = None) -> list[str]:
    """Names of the report notebooks in ``notebook_dir`` (sorted)."""
    directory = Path(notebook_dir) if notebook_dir is not None else default_notebook_dir()
    if not directory.is_dir():
        return []
    return sorted(
        p.stem
        for p in directory.glob("*.ipynb")
        if not p.name.startswith((".", "_")) and layout.REPORT_NAME.match(p.stem)
    )


_spec_cache: dict[tuple[str, int, int], ReportSpec] = {}
_spec_lock = threading.Lock()


def load_report(name: str, notebook_dir: Path | str | None = None) -> ReportSpec:
    """Read report ``name``: its notebook's metadata and parameters.

    Raises ``ReportError`` for an unknown report (listing the available ones) or a notebook
    that breaks the conventions (no parameters cell, missing standard parameters).
    """
    directory = Path(notebook_dir) if notebook_dir is not None else default_notebook_dir()
    reports = available_reports(directory)
    if not isinstance(name, str) or name not in reports:
        if isinstance(name, str) and name:
            layout.check_report_name(name)
        listing = ", ".join(reports) if reports else f"none (no notebooks in {directory})"
        raise ReportError(f"There is no report {name!r}. Available reports: {listing}.")
    path = (directory / f"{name}.ipynb").resolve()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _spec_lock:
        if key in _spec_cache:
            return _spec_cache[key]
    spec = _read_spec(name, path)
    with _spec_lock:
        _spec_cache[key] = spec
    return spec


def list_reports(notebook_dir: Path | str | None = None) -> list[ReportSpec]:
    """Every report in ``notebook_dir``."""
    return [load_report(n, notebook_dir) for n in available_reports(notebook_dir)]


def _read_spec(name: str, path: Path) -> ReportSpec:
    import nbformat
    from papermill import inspect_notebook

    raw = path.read_bytes()
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:
        raise ReportError(f"Notebook {path} cannot be read: {exc}") from exc
    meta = nb.metadata.get("kamlib", {}) or {}
    title = meta.get("title") or {}
    if isinstance(title, str):
        title = {"en": title, "zh": title}
    per_account = bool(meta.get("per_account", False))
    frequency = normalise_frequency(meta.get("frequency", DEFAULT_FREQUENCY))
    needs = read_needs(meta.get("needs", []), path)
    cell_index = next(
        (i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), None
    )
    if cell_index is None:
        raise ReportError(
            f"Notebook {path} has no cell tagged 'parameters'. Tag the cell that sets "
            "store, as_of and lang (papermill's convention)."
        )
    params = {
        n: Parameter(
            name=n,
            type=_normal_type(str(p.get("inferred_type_name") or "None")),
            default=str(p.get("default", "")),
            help=str(p.get("help") or ""),
        )
        for n, p in inspect_notebook(str(path)).items()
    }
    needed = STANDARD_PARAMETERS + ((ACCOUNT_PARAMETER,) if per_account else ())
    missing = [p for p in needed if p not in params]
    if missing:
        raise ReportError(
            f"Notebook {path} does not declare the standard parameter(s) "
            f"{', '.join(missing)}. Every report notebook sets store, as_of, lang and "
            "snapshot (and account_id when it is per account) in its parameters cell, e.g. "
            "'snapshot: int = 0  # import batch to read, 0 for the newest', and reads the "
            "store with kamlib.data.load(store, snapshot=snapshot or None)."
        )
    return ReportSpec(
        name=name,
        path=path,
        title={str(k): str(v) for k, v in dict(title).items()},
        per_account=per_account,
        frequency=frequency,
        parameters=params,
        parameters_cell=cell_index,
        imports=_imports(nb),
        sha256=hashlib.sha256(raw).hexdigest(),
        needs=needs,
    )


def read_needs(raw: Any, path: Path | str) -> tuple[str, ...]:
    """The ``kamlib.needs`` of the notebook at ``path``: each a canonical table name or
    ``revenue`` (order lines or won deals, :data:`kamlib.data.purchases.REVENUE_NEED`).

    Raises ``ReportError`` naming the notebook, the value found and the valid needs.
    """
    from kamlib.data import TABLES
    from kamlib.data.purchases import REVENUE_NEED

    valid = (REVENUE_NEED, *TABLES)
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise ReportError(
            f"Notebook {path}: kamlib.needs must be a list of what the report cannot do "
            f'without, e.g. ["accounts", "revenue"]. Got {raw!r}. Valid needs: '
            f"{', '.join(valid)}."
        )
    for need in raw:
        if need not in valid:
            close = difflib.get_close_matches(need, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ReportError(
                f"Notebook {path}: kamlib.needs names {need!r}, which is neither a canonical "
                f"table nor {REVENUE_NEED!r}.{hint} Valid needs: {', '.join(valid)}."
            )
    return tuple(dict.fromkeys(raw))


def _normal_type(text: str) -> str:
    t = "".join(text.split())
    lowered = t.lower()
    return lowered if lowered in SUPPORTED_TYPES else t


def _imports(nb: Any) -> tuple[str, ...]:
    """Modules imported by the notebook's code cells (not executed: read with ``ast``)."""
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return tuple(dict.fromkeys(names))


# -- parameter values ---------------------------------------------------------------------------
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def convert_parameter(report: str, param: Parameter, value: Any) -> Any:
    """``value`` as the type ``param`` declares; text is parsed, typed values are checked.

    Raises ``ReportError`` saying which parameter, the value found, and what is expected.
    """
    t = param.type
    try:
        if t in ("None", "") or t not in SUPPORTED_TYPES:
            if isinstance(value, str | int | float | bool) or value is None:
                return value
            raise ValueError("a text, number or true/false value")
        if t.startswith("list["):
            inner = t[5:-1]
            items = (
                [s.strip() for s in value.split(",") if s.strip()]
                if isinstance(value, str)
                else value
            )
            if not isinstance(items, list | tuple):
                raise ValueError(f"a comma-separated list of {inner}")
            return [_scalar(inner, item) for item in items]
        return _scalar(t, value)
    except ValueError as exc:
        hint = f" ({param.help})" if param.help else ""
        raise ReportError(
            f"Parameter '{param.name}' of report '{report}' is {value!r}: expected "
            f"{t} — {exc}{hint}. Example: -p {param.name}={_example(param)}"
        ) from None


def _scalar(t: str, value: Any) -> Any:
    if t == "str":
        if isinstance(value, str):
            return value
        raise ValueError("a text")
    if t == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError("true or false")
    if t == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip().replace("_", "")
            if text.lstrip("+-").isdigit():
                return int(text)
        raise ValueError("a whole number")
    if t == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise ValueError("a number") from None
        else:
            raise ValueError("a number")
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("a finite number")
        return number
    raise ValueError(f"one of {', '.join(SUPPORTED_TYPES)}")


def _example(param: Parameter) -> str:
    value = param.default_value
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


__all__ = [
    "ACCOUNT_PARAMETER",
    "DEFAULT_FREQUENCY",
    "LANGUAGES",
    "METHODOLOGY_PARAMETER",
    "NOTEBOOK_DIR_ENV",
    "SNAPSHOT_PARAMETER",
    "STANDARD_PARAMETERS",
    "SUPPORTED_TYPES",
    "Parameter",
    "ReportSpec",
    "available_reports",
    "convert_parameter",
    "default_notebook_dir",
    "list_reports",
    "load_report",
    "read_needs",
]
