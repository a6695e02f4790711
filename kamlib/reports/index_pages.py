"""The index pages: ``reports/index.html`` and ``reports/<report>/<period>/index.html``.

Both are rebuilt from the manifests on disk (so they list every report ever produced,
whichever run made it), newest first, as small self-contained HTML files with no scripts
and no external resources.  Every name read from data or manifests is HTML-escaped.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kamlib.reports.layout import FAILED_DIR, iter_manifests, write_text_atomic

if TYPE_CHECKING:
    from kamlib.reports.jobs import ReportResult

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",
"Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
p.meta{color:#59636e;margin-top:0}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #d1d9e0;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
.failed{color:#cf222e;font-weight:600}.muted{color:#59636e}td.nw{white-space:nowrap}
"""


def write_reports_index(out: Path) -> Path:
    """Write ``out/index.html``: current failures, then the reports grouped by as-of date
    (newest first); within a date the whole-book reports first, then one row per batch of
    account reports linking its period page (``<report>/<period>/index.html``)."""
    out = Path(out)
    good = [(d, m) for d, m in iter_manifests(out) if m.get("status") == "ok"]
    failures = _current_failures(out, good)

    book: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    batches: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for directory, m in good:
        day = str(m.get("as_of") or "")
        if m.get("account_id"):
            key = (str(m.get("report")), str(m.get("period")))
            batches.setdefault(day, {}).setdefault(key, []).append(m)
        else:
            book.setdefault(day, []).append((directory, m))
    sections = []
    for day in sorted(set(book) | set(batches), reverse=True):
        rows = [
            _index_row(
                _link(out, d / "index.html", m.get("title") or m.get("report")),
                m,
                '<span class="muted">whole book</span>',
                [m],
            )  # fmt: skip
            for d, m in sorted(book.get(day, []), key=lambda dm: _title(dm[1]))
        ]
        for (report, period), ms in sorted(
            batches.get(day, {}).items(), key=lambda kv: _title(kv[1][0], report_only=True)
        ):
            accounts = len({x.get("account_id") for x in ms})
            groups = sorted({str(x["group"]) for x in ms if x.get("group")})
            covers = f"{accounts} account{'s' if accounts != 1 else ''}" + (
                f' <span class="muted">(group {_e(", ".join(groups))})</span>' if groups else ""
            )
            page = out / report / period / "index.html"
            text = _title(ms[0], report_only=True)
            rows.append(_index_row(_link(out, page, text), ms[0], covers, ms))
        sections.append(
            f"<h2>As of {_e(day)}</h2>"
            "<table><thead><tr><th>Report</th><th>Period</th><th>Covers</th><th>Language</th>"
            "<th>Generated</th><th>Data snapshot</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    body = [
        "<h1>Reports</h1>",
        f'<p class="meta">{len(good)} report{"s" if len(good) != 1 else ""}, the newest '
        "as-of date first; account reports are one row per batch, linking the batch's page. "
        f"Updated {_e(_when(datetime.now().astimezone().isoformat()))}.</p>",
    ]
    if failures:
        body.append(_failures_table(out, failures))
    body.extend(sections or ['<p class="muted">No reports yet.</p>'])
    path = out / "index.html"
    write_text_atomic(path, _page("Reports", "\n".join(body)))
    return path


def _index_row(link: str, m: dict[str, Any], covers: str, batch: list[dict[str, Any]]) -> str:
    """One row of the reports index: a report, or a batch of account reports."""
    langs = ", ".join(sorted({str(x.get("lang")) for x in batch if x.get("lang")}))
    newest = max(batch, key=_sort_key)
    return (
        "<tr>"
        f"<td>{link}</td>"
        f'<td class="nw">{_e(m.get("period"))}</td>'
        f"<td>{covers}</td>"
        f"<td>{_e(langs)}</td>"
        f'<td class="nw">{_e(_when(newest.get("finished")))}</td>'
        f'<td class="nw">{_e(_snapshot(newest))}</td>'
        "</tr>"
    )


def _title(m: dict[str, Any], *, report_only: bool = False) -> str:
    """A report's title (``report_only``: without the account, for a batch's row)."""
    if report_only:
        return str(m.get("report_title") or m.get("report") or "")
    return str(m.get("title") or m.get("report") or "")


def write_period_index(out: Path, report: str, period: str) -> Path:
    """Write ``out/<report>/<period>/index.html`` linking the reports of that period."""
    out = Path(out)
    directory = out / report / period
    entries = [
        (d, m)
        for d, m in iter_manifests(out)
        if m.get("report") == report and m.get("period") == period and m.get("status") == "ok"
    ]
    entries.sort(key=lambda dm: (str(dm[1].get("account_name") or ""), str(dm[1].get("slug"))))
    failures = [
        (d, m)
        for d, m in _current_failures(out, entries)
        if m.get("report") == report and m.get("period") == period
    ]
    title = (entries[0][1].get("report_title") or report) if entries else report
    rows = [
        "<tr>"
        f"<td>{_link(directory, d / 'index.html', m.get('account_name') or m.get('slug'))}</td>"
        f"<td>{_e(m.get('account_id'))}</td>"
        f"<td>{_e(m.get('group'))}</td>"
        f"<td>{_e(m.get('lang'))}</td>"
        f"<td>{_e(m.get('as_of'))}</td>"
        f"<td>{_e(_when(m.get('finished')))}</td>"
        "</tr>"
        for d, m in entries
    ]
    heading = f"{_e(title)} · {_e(period)}"
    body = [
        f"<h1>{heading}</h1>",
        f'<p class="meta">{len(entries)} report{"s" if len(entries) != 1 else ""}. '
        f'<a href="{_href(directory, out / "index.html")}">All reports</a></p>',
    ]
    if failures:
        body.append(_failures_table(directory, failures))
    body.append(
        "<table><thead><tr><th>Account</th><th>Account id</th><th>Group</th><th>Language</th>"
        "<th>As of</th><th>Generated</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "index.html"
    write_text_atomic(path, _page(f"{title} · {period}", "\n".join(body)))
    return path


def write_indexes(out: Path, results: tuple[ReportResult, ...]) -> tuple[Path, tuple[Path, ...]]:
    """Rebuild the index pages a batch touched: ``out/index.html`` and each period's page.

    A period page is written for every report period with per-account results; returns
    the reports index and the period pages.
    """
    periods = sorted(
        {(r.job.report, r.job.period.label) for r in results if r.job.spec.per_account}
    )
    period_pages = tuple(write_period_index(out, report, period) for report, period in periods)
    return write_reports_index(out), period_pages


# -- helpers ------------------------------------------------------------------------------------
def _current_failures(
    out: Path, good: list[tuple[Path, dict[str, Any]]]
) -> list[tuple[Path, dict[str, Any]]]:
    """Failed runs not followed by a successful one of the same report / period / slug.

    (A success removes the ``_failed`` copy of the same report, so this is a guard for
    copies made by hand or by older runs.)
    """
    newest_ok = {}
    for _, m in good:
        key = (m.get("report"), m.get("period"), m.get("slug"))
        newest_ok[key] = max(newest_ok.get(key, ""), str(m.get("finished") or ""))
    failed = []
    for d, m in iter_manifests(out, failed=True):
        key = (m.get("report"), m.get("period"), m.get("slug"))
        if str(m.get("finished") or "") >= newest_ok.get(key, ""):
            failed.append((d, m))
    failed.sort(key=lambda dm: _sort_key(dm[1]), reverse=True)
    return failed


def _failures_table(base: Path, failures: list[tuple[Path, dict[str, Any]]]) -> str:
    rows = []
    for d, m in failures:
        error = m.get("error") or {}
        rows.append(
            "<tr>"
            f"<td>{_e(_when(m.get('finished')))}</td>"
            f"<td>{_link(base, d / 'index.html', m.get('title') or m.get('report'))}</td>"
            f"<td>{_e(m.get('period'))}</td>"
            f"<td>{_account(m)}</td>"
            f'<td class="failed">{_e(error.get("message") or m.get("status"))}</td>'
            "</tr>"
        )
    return (
        f'<h2 class="failed">Failed runs ({len(failures)})</h2>'
        '<p class="meta">The last attempt failed; an earlier good report, if any, is still '
        f"in place and listed below. Failed runs are kept under <code>{FAILED_DIR}/</code>.</p>"
        "<table><thead><tr><th>When</th><th>Report</th><th>Period</th><th>Account</th>"
        f"<th>Error</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _e(value: Any) -> str:
    return "" if value is None else html.escape(str(value), quote=True)


def _href(base: Path, target: Path) -> str:
    import os

    rel = Path(os.path.relpath(target, base)).as_posix()
    return _e(quote(rel, safe="/"))


def _link(base: Path, target: Path, text: Any) -> str:
    return f'<a href="{_href(base, target)}">{_e(text)}</a>'


def _account(m: dict[str, Any]) -> str:
    name, ident = m.get("account_name"), m.get("account_id")
    if not name and not ident:
        return '<span class="muted">all accounts</span>'
    if name and ident:
        return f'{_e(name)} <span class="muted">({_e(ident)})</span>'
    return _e(name or ident)


def _snapshot(m: dict[str, Any]) -> str:
    snap = m.get("snapshot") or {}
    fp = str(snap.get("fingerprint") or "")[:12]
    batch = snap.get("batch_id")
    if batch is not None and fp:
        return f"batch {batch} · {fp}"
    return fp or "—"


def _when(stamp: Any) -> str:
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(str(stamp)).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(stamp)


def _sort_key(m: dict[str, Any]) -> str:
    return str(m.get("finished") or m.get("started") or "")
