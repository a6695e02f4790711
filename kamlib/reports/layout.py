"""Where reports go, and how they get there safely.

Layout under the output directory (``reports/`` by default)::

    index.html                              every report, newest first
    <report>/<period>/index.html            the reports of one period (account batches)
    <report>/<period>/<slug>/index.html     one report
    <report>/<period>/<slug>/<report>.ipynb the executed notebook
    <report>/<period>/<slug>/manifest.json  how it was made
    _failed/<report>/<period>/<slug>/       the last failed run: notebook with papermill's
                                            error banner, its HTML, manifest
    .tmp/                                   work in progress (never linked, cleaned up)

A report is written into ``.tmp/`` (same file system, so a rename moves it) and renamed into
place only when it is complete.  Replacing an older report takes two renames (old → ``.tmp``,
new → place); if the process dies between them the next run puts the old one back.  A run
that is interrupted never leaves a half-written report in place; its leftovers in ``.tmp``
are removed by the next run (directories are named after the process that owns them).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path
from typing import Any

from kamlib.errors import ReportError

TMP_DIR = ".tmp"
FAILED_DIR = "_failed"
MANIFEST = "manifest.json"
SLUG_MAX = 60

# Names Windows refuses as a file or directory (reports get copied to shares)
_WINDOWS_RESERVED = {
    "CON", "PRN", "AUX", "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}  # fmt: skip
REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


# -- slugs --------------------------------------------------------------------------------------
def slugify(text: str, *, max_length: int = SLUG_MAX) -> str:
    """A safe directory name made from ``text``; ``""`` when nothing usable is left.

    Letters and digits of any script stay (Chinese names read as they are); everything
    else — path separators, dots, quotes, ``<>:"/\\|?*``, spaces, control characters — becomes
    ``-``; runs of ``-`` collapse; leading and trailing ``-`` / ``_`` go.  So ``../../etc``
    becomes ``etc`` and ``<script>alert(1)</script>`` becomes ``script-alert-1-script``.
    """
    text = unicodedata.normalize("NFKC", str(text))
    chars = [c if (c.isalnum() or c in "_-") else "-" for c in text]
    slug = re.sub(r"-{2,}", "-", "".join(chars)).strip("-_")
    slug = slug[:max_length].strip("-_")
    if slug.upper() in _WINDOWS_RESERVED:
        slug = f"_{slug}"  # Windows refuses a directory named CON, NUL, COM1 ...
    return slug


def id_digest(account_id: str) -> str:
    """Six hex digits of the SHA-1 of the raw account id (stable across runs and machines)."""
    return hashlib.sha1(str(account_id).encode("utf-8")).hexdigest()[:6]


def account_slug(name: str | None, account_id: str) -> str:
    """``<name>-<account_id>`` made safe: readable, stable across runs, unique per account.

    The account id is always appended, so two accounts with the same (or equally
    unreadable) name never share a directory, and an account keeps its directory whatever
    else is in the batch.  When making the id safe changed it (``X/1`` and ``X-1`` both
    become ``X-1``; long ids are cut), a short hash of the raw id follows
    (``Same-Co-X-1-3f2a9c``), so ids that sanitise alike still get their own directory;
    ids that need no change keep the slug they always had.
    """
    account_id = str(account_id)
    ident = slugify(account_id, max_length=40) or "account"
    if account_id and ident != account_id:
        ident = f"{ident}-{id_digest(account_id)}"
    base = slugify(name or "")
    slug = f"{base}-{ident}" if base and base != ident else ident
    return slug.strip("-")


def unique_slugs(slugs: list[str], keys: list[str]) -> list[str]:
    """Make ``slugs`` unique by appending a short hash of the key where two collide."""
    seen: dict[str, int] = {}
    for s in slugs:
        seen[s] = seen.get(s, 0) + 1
    out = []
    for s, key in zip(slugs, keys, strict=True):
        if seen[s] > 1:
            s = f"{s}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:6]}"
        out.append(s)
    return out


def other_account(directory: Path, account_id: str | None) -> str | None:
    """The account whose report ``directory`` holds, when it is not ``account_id``.

    ``None`` when the directory is empty, holds no manifest, a whole-book report, or this
    account's report: publishing there replaces nothing that belongs to another account.
    """
    manifest = read_manifest(Path(directory))
    if manifest is None or account_id is None:
        return None
    found = manifest.get("account_id")
    return None if found is None or str(found) == str(account_id) else str(found)


def check_report_name(name: str) -> str:
    """Report names are plain identifiers (they name a notebook and a directory)."""
    if not isinstance(name, str) or not REPORT_NAME.match(name):
        raise ReportError(
            f"Report name {name!r} is not valid: use letters, digits, '_' and '-' only "
            "(the name of a notebook in notebooks/, without .ipynb)."
        )
    return name


# -- the output directory -------------------------------------------------------------------------
def prepare_output(out: Path) -> Path:
    """Create ``out`` and its work area; check it is writable; clean up after dead runs."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / TMP_DIR
        tmp.mkdir(exist_ok=True)
        probe = tmp / f"probe-{os.getpid()}-{uuid.uuid4().hex}"
        with open(probe, "wb") as fh:
            fh.write(b"kamlib")
        probe.unlink()
    except OSError as exc:
        raise output_error(out, exc) from exc
    recover(out)
    return out


def output_error(out: Path, exc: OSError) -> ReportError:
    """A clear ``ReportError`` for a write failure in the output directory."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ReportError(
            f"The output directory {out} is full ({reason}). Free some space or choose "
            "another directory with --out."
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ReportError(
            f"The output directory {out} is not writable ({reason}). Choose another "
            "directory with --out or fix its permissions."
        )
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return ReportError(
            f"The output directory {out} cannot be used: {reason} "
            f"({exc.filename}). Choose another directory with --out."
        )
    return ReportError(f"Cannot write reports to {out}: {reason} ({exc.filename}).")


def new_work_dir(out: Path) -> Path:
    """A fresh directory in ``out/.tmp`` for one report in progress."""
    path = Path(out) / TMP_DIR / f"new-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise output_error(Path(out), exc) from exc
    return path


def publish(work: Path, target: Path, out: Path) -> None:
    """Move the finished report ``work`` to ``target``, replacing what was there.

    Each step is a rename on one file system.  The previous report is parked in ``.tmp``
    first and deleted only after the new one is in place; on any error it goes back.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    parked: Path | None = None
    if target.exists():
        parked = Path(out) / TMP_DIR / f"old-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        _write_json(work.parent / f"{parked.name}.target", {"target": _rel(target, out)})
        os.rename(target, parked)
    try:
        os.rename(work, target)
    except OSError:
        if parked is not None:
            os.rename(parked, target)
        raise
    finally:
        if parked is not None:
            (work.parent / f"{parked.name}.target").unlink(missing_ok=True)
    if parked is not None:
        shutil.rmtree(parked, ignore_errors=True)


def tidy(out: Path) -> None:
    """Remove the work area when it is empty (another run may still be using it)."""
    with contextlib.suppress(OSError):
        (Path(out) / TMP_DIR).rmdir()


def remove_quietly(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def recover(out: Path) -> None:
    """Clean ``out/.tmp`` of runs whose process is gone; restore a parked report if needed."""
    tmp = Path(out) / TMP_DIR
    if not tmp.is_dir():
        return
    for entry in sorted(tmp.iterdir()):
        parts = entry.name.split("-")
        if len(parts) < 3 or parts[0] not in ("new", "old", "probe") or not parts[1].isdigit():
            continue
        if _alive(int(parts[1])):
            continue
        if parts[0] == "old" and entry.is_dir():
            marker = tmp / f"{entry.name}.target"
            try:
                target = Path(out) / json.loads(marker.read_text("utf-8"))["target"]
            except (OSError, ValueError, KeyError):
                target = None
            if target is None:
                continue  # no record of where it belongs: keep it for a human to look at
            if not target.exists():
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(entry, target)
                except OSError:
                    continue  # could not put it back: keep it rather than lose it
                marker.unlink(missing_ok=True)
                continue
            marker.unlink(missing_ok=True)
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# -- files --------------------------------------------------------------------------------------
def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename (readers never see half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a report directory, or ``None`` when missing or unreadable."""
    try:
        data = json.loads((directory / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _rel(path: Path, out: Path) -> str:
    return Path(os.path.relpath(path, out)).as_posix()


def iter_manifests(out: Path, *, failed: bool = False) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``<report>/<period>/<slug>/manifest.json`` (or the ``_failed`` ones)."""
    base = Path(out) / FAILED_DIR if failed else Path(out)
    found = []
    if not base.is_dir():
        return found
    for path in base.glob(f"*/*/*/{MANIFEST}"):
        rel = path.relative_to(base).parts
        if rel[0].startswith((".", "_")):
            continue
        data = read_manifest(path.parent)
        if data is not None:
            found.append((path.parent, data))
    return found
