"""Read one export file into a DuckDB staging table of text columns.

Every source format ends up the same way: a temporary table whose columns are the file's
headers (as text, nothing interpreted yet) plus ``_row``, the row number a person sees when
they open the file (the header is row ``header_row``; the first data row follows it).
Nothing is evaluated: a cell like ``=HYPERLINK(...)`` stays the text it is.
"""

from __future__ import annotations

import codecs
import gzip
import itertools
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
from blake3 import blake3

from kamlib.errors import DataValidationError

if TYPE_CHECKING:
    import pandas as pd

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES

#: The encodings tried, in order, when the user does not name one.
DETECT_ORDER = ("utf-8", "gb18030")
_SAMPLE_BYTES = 1 << 20
#: A physical CSV line longer than this is refused by the reader (not a data problem).
MAX_LINE_BYTES = 64 << 20
#: DuckDB's CSV read buffer. Its default is 16 × the line limit (1 GB here): the sniff behind
#: every ``DESCRIBE`` then reads a whole 1 GB file (0.5 s instead of 0.02 s) and the parallel
#: reader works on fewer, larger buffers (it refuses a parallel read of a buffer just over
#: the line limit; twice the limit works).
READ_BUFFER_BYTES = 2 * MAX_LINE_BYTES


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what a spreadsheet may expand to before kamlib reads it.

    An .xlsx is a zip of XML: a few hundred KB can decompress to gigabytes.  The zip's
    directory is checked first (sizes and compression ratio), then rows and columns are
    counted while the sheet is streamed.  Defaults fit real exports many times over
    (Excel itself stops at 1,048,576 rows and 16,384 columns); raise them with the CLI
    flags named in the error (``--max-xlsx-mb``, ``--max-xlsx-ratio``, ``--max-rows``,
    ``--max-columns``).
    """

    xlsx_max_mb: float = 1024.0  # decompressed size of the workbook's parts, MB
    xlsx_max_ratio: float = 100.0  # decompressed / compressed, for workbooks over 10 MB decompressed
    max_rows: int = 1_048_576
    max_columns: int = 1_000

    def refuse(self, path: Path, problem: str, flag: str) -> DataValidationError:
        """The error for a file beyond a limit: what, the limit, and the flag that raises it."""
        from kamlib.errors import ImportRefused

        return ImportRefused(
            f"{path}: {problem}; the file may be broken or hostile, so kamlib did not read it. "
            f"If it is a real export, raise the limit with {flag} (Python: "
            "limits=ReadLimits(...)), or save it as CSV."
        )


#: The decompressed size below which the compression ratio of a workbook is not checked.
_RATIO_FREE_BYTES = 10 << 20


@dataclass(frozen=True)
class SourceFile:
    """A file ready for import.

    ``relation`` is what to select from: a staged temporary table, or (for large CSV and
    Parquet files read in one pass) the ``read_csv``/``read_parquet`` call itself.
    ``row_expr`` gives each row's number in the file when the relation can say it (staged
    tables); for direct reads it is ``None`` and the row number comes from the order in
    which DuckDB inserted the rows (it keeps the file's order).
    """

    path: Path
    relation: str
    columns: tuple[str, ...]
    rows: int  # -1 when not counted yet (direct reads)
    header_row: int
    row_expr: str | None
    encoding: str | None
    fingerprint: str
    notes: tuple[str, ...] = ()
    text_path: Path | None = None  # the UTF-8 text DuckDB reads (CSV only; may be a transcoded copy)


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(EXCEL_SUFFIXES):
        return "excel"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise DataValidationError(
        f"{path}: unsupported file type. kamlib reads {', '.join(SUPPORTED)}. "
        "Save the export in one of these formats."
    )


def fingerprint_file(path: Path) -> str:
    """BLAKE3 of the file's bytes (streamed): a cryptographic hash, ≈ 2.5× faster than
    SHA-256 here (1 GB in 0.4 s against 1.0 s), and the import hashes every new file while
    DuckDB reads it on the same cores.  (Stores written before keep their SHA-256 file
    fingerprints: a file imported again then counts as changed once.)"""
    return _hash_and_count(path)[0]


def _hash_and_count(path: Path) -> tuple[str, int]:
    """:func:`fingerprint_file` and the file's lines (:func:`count_lines`), in one streamed
    pass (counting newlines is cheap next to the hash)."""
    digest = blake3(max_threads=1)
    with path.open("rb") as fh:
        lines = _lines_read(fh, digest.update)
    return digest.hexdigest(), lines


def _lines_read(fh, each_block=None) -> int:
    """The lines of a binary stream read to its end in 1 MB blocks (a last line without a
    newline counts), each block also given to ``each_block``.  numpy counts the newline
    bytes: a 1 GB file in ≈ 0.1 s, ``bytes.count`` in ≈ 0.5 s."""
    newlines, last = 0, b"\n"
    for block in iter(lambda: fh.read(1 << 20), b""):
        if each_block is not None:
            each_block(block)
        newlines += int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))
        last = block[-1:]
    return newlines + (last != b"\n")


def stage_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    staging_table: str,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    header_hints: frozenset[str] = frozenset(),
    workdir: Path | None = None,
    materialize: bool = False,
    limits: ReadLimits | None = None,
    fingerprint: bool = True,
) -> SourceFile:
    """Read ``path`` into the temporary table ``staging_table`` (all text + ``_row``).

    ``header_hints`` are normalised column names the caller can map; for spreadsheets the
    header is the first row among the first 30 that contains at least two of them (title
    rows above the header are skipped and reported).  ``fingerprint=False`` leaves the
    file's fingerprint empty (the caller computes it later with :func:`file_fingerprint`).
    """
    if not path.exists():
        raise DataValidationError(
            f"{path}: file not found. Check the path (it is read relative to {Path.cwd()})."
        )
    if path.is_dir():
        raise DataValidationError(f"{path} is a folder; name the files in it or the folder alone.")
    if path.stat().st_size == 0:
        raise DataValidationError(f"{path}: the file is empty (0 bytes). Export it again.")
    kind = file_kind(path)
    try:
        fp = fingerprint_file(path) if fingerprint else ""
        if kind == "csv":
            return _stage_csv(con, path, staging_table, encoding, fp, workdir, materialize)
        if kind == "excel":
            return _stage_excel(con, path, staging_table, sheet, header_hints, fp, limits or ReadLimits())
        return _stage_parquet(con, path, staging_table, fp, materialize)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataValidationError(
            f"{path}: not a readable gzip file ({exc}). It may be cut short or not compressed "
            "at all: download or export it again (or remove the .gz ending if it is plain text)."
        ) from exc
    except OSError as exc:
        error = _unreadable(path, exc)
        if error is None:
            raise  # not the export itself (e.g. the work folder): the caller says what it is
        raise error from exc


def file_fingerprint(path: Path) -> str:
    """:func:`fingerprint_file`, with the error :func:`stage_file` gives for an unreadable file."""
    return _readable_hash(path)[0]


def _readable_hash(path: Path) -> tuple[str, int]:
    """:func:`_hash_and_count`, with the error :func:`stage_file` gives for an unreadable file."""
    try:
        return _hash_and_count(path)
    except OSError as exc:
        error = _unreadable(path, exc)
        if error is None:
            raise
        raise error from exc


def _unreadable(path: Path, exc: OSError) -> DataValidationError | None:
    if exc.filename is None or Path(exc.filename) != path:
        return None
    return DataValidationError(
        f"{path}: cannot read the file ({exc.strerror or exc}). Check that it exists and "
        "that you may read it, or copy it somewhere readable."
    )


# -- CSV -------------------------------------------------------------------------------------
def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def detect_encoding(path: Path) -> str:
    """Return ``utf-8-sig``, ``utf-8`` or ``gb18030`` (GBK's superset) for a CSV file.

    A sample from the start decides; the whole file is checked later while it is read, so a
    wrong guess still ends in a clear error, never in garbled text.
    """
    with _open_bytes(path) as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in DETECT_ORDER:
        try:
            codecs.getincrementaldecoder(enc)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return enc
    raise DataValidationError(
        f"{path}: the text is neither UTF-8 nor GBK/GB18030. Re-export it as UTF-8 or pass "
        "--encoding with the file's encoding (e.g. --encoding big5)."
    )


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with _open_bytes(path) as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except (OSError, EOFError, zlib.error):
        return True  # a broken gzip stream: not an encoding problem (the caller says what is)
    return True


def _normalise_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise DataValidationError(
            f"Unknown encoding {encoding!r}. Use a Python codec name such as utf-8, gbk, "
            "gb18030, big5 or latin-1."
        ) from exc
    return {"gbk": "gb18030", "gb2312": "gb18030"}.get(name, name)


def _transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """Stream ``path`` from ``encoding`` into a UTF-8 temporary file; clear error on bad bytes."""
    handle, name = tempfile.mkstemp(suffix=".csv", dir=workdir)
    os.close(handle)
    out = Path(name)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with _open_bytes(path) as src, out.open("w", encoding="utf-8", newline="") as dst:
        while True:
            block = src.read(1 << 20)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise DataValidationError(
                    f"{path}: bytes at line ~{line} are not valid {encoding}"
                    f" ({exc.reason}). Pass the right --encoding (Chinese exports are often "
                    "gbk; others utf-8)."
                ) from exc
            line += text.count("\n")
            if text:
                dst.write(text.removeprefix("\ufeff") if line <= 1 else text)
            if not block:
                break
    return out


def _stage_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    encoding: str | None,
    fp: str,
    workdir: Path | None,
    materialize: bool,
) -> SourceFile:
    enc = _normalise_encoding(encoding) if encoding else detect_encoding(path)
    source = path
    notes: list[str] = []
    if enc not in ("utf-8", "utf-8-sig"):
        # the UTF-8 copy lives in the import's work folder until the import ends
        source = _transcode(path, enc, workdir or Path(tempfile.gettempdir()))
        notes.append(f"read as {enc}")
    options = (
        "header=true, all_varchar=true, auto_detect=true, strict_mode=false, "
        f"null_padding=true, max_line_size={MAX_LINE_BYTES}, buffer_size={READ_BUFFER_BYTES}, "
        "quote='\"', escape='\"'"
        + (", delim='\\t'" if ".tsv" in path.name.lower() else "")
        + (", compression='gzip'" if source.name.lower().endswith(".gz") else "")
    )
    relation = f"read_csv({_sql_text(str(source))}, {options})"
    try:
        columns = tuple(r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall())
        if len(columns) == 1 and any(d in columns[0] for d in (",", ";", "\t")):
            problem = unclosed_quote(source, "\t" if ".tsv" in path.name.lower() else ",")
            if problem:
                raise DataValidationError(f"{path}: {problem}")
        if not materialize:
            return SourceFile(path, relation, columns, -1, 1, None, enc, fp, tuple(notes), source)
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" AS SELECT * FROM {relation}')
    except duckdb.InvalidInputException as exc:
        raise explain_read_error(path, exc, source) from exc
    except duckdb.IOException as exc:
        raise DataValidationError(
            f"{path}: cannot read the file ({str(exc).splitlines()[0]}). Check that you may "
            "read it, or copy it somewhere readable."
        ) from exc
    rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return SourceFile(
        path, f'"{table}"', columns, rows, 1, _row_expr(con, table, 2), enc, fp, tuple(notes), source
    )


def count_lines(path: Path) -> int:
    """Lines of a text file (a last line without a newline counts)."""
    with _open_bytes(path) as fh:
        return _lines_read(fh)


def fingerprint_and_lines(src: SourceFile) -> tuple[str, int | None]:
    """:func:`file_fingerprint` of ``src.path`` and, when DuckDB reads that very file (plain
    CSV text, neither transcoded nor compressed), its :func:`count_lines`, from the same pass
    over the bytes (``None`` otherwise: then the text DuckDB reads is counted on its own)."""
    fingerprint, lines = _readable_hash(src.path)
    plain = src.text_path == src.path and not src.path.name.lower().endswith(".gz")
    return fingerprint, lines if plain else None


class LineCount:
    """A file's lines from a :func:`fingerprint_and_lines` future (``None``: not counted
    there, :func:`check_rows_read` counts the text DuckDB reads)."""

    def __init__(self, future: Future[tuple[str, int | None]]) -> None:
        self.future = future

    def result(self) -> int | None:
        return self.future.result()[1]


def check_rows_read(src: SourceFile, rows: int, lines: int | None = None) -> None:
    """Refuse a CSV file that DuckDB read into fewer rows than it has lines because a quote
    never closed (the rest of the file swallowed into one value, or dropped).

    Counting newlines is cheap (``lines``: counted already, e.g. while DuckDB read the file);
    the quote scan runs only when the counts disagree (values spanning several lines, or
    blank lines, also make them disagree: those pass).
    """
    if src.text_path is None:
        return
    if lines is None:
        lines = count_lines(src.text_path)
    if rows >= lines - 1:
        return
    problem = unclosed_quote(src.text_path, "\t" if ".tsv" in src.path.name.lower() else ",")
    if problem:
        raise DataValidationError(
            f"{src.path}: {problem} ({lines - 1:,} lines below the header, {rows:,} rows read)"
        )


def unclosed_quote(path: Path, delimiter: str = ",") -> str | None:
    """Find a quote (``"``) that opens a value and never closes (the rest of the file then
    reads as one value).  Returns a sentence naming the row, column and value, or None."""
    header: list[str] | None = None
    open_at: tuple[int, str, str] | None = None
    with _open_bytes(path) as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if header is None:
                header = [h.strip().strip('"') for h in line.split(delimiter)]
                if line.count('"') % 2:
                    open_at = (number, "(header)", line[:60])
                    break
                continue
            if open_at is None:
                if line.count('"') % 2:
                    fields = line.split(delimiter)
                    col, value = "?", line
                    for i, f in enumerate(fields):
                        if f.count('"') % 2:
                            col = header[i] if i < len(header) else f"column {i + 1}"
                            value = delimiter.join(fields[i:])
                            break
                    open_at = (number, col, value[:60])
            elif line.count('"') % 2:
                open_at = None  # a quoted value over several lines, closed here
    if open_at is None:
        return None
    row, col, value = open_at
    return (
        f"row {row}, column '{col}': the quote in {value!r} is never closed, so the rest of "
        "the file reads as one value. Remove the stray quote (or close it) in that row and "
        "save the file again."
    )


def explain_read_error(path: Path, exc: Exception, source: Path | None = None) -> DataValidationError:
    """Turn DuckDB's CSV reader error into a message that says what to do."""
    message = str(exc).splitlines()[0]
    detail = str(exc)
    if "quoted new lines" in detail:
        return DataValidationError(
            f"{path}: values span several lines (quoted line breaks) and some rows are short; "
            "the reader cannot combine both. Remove the line breaks inside values or fill the "
            "short rows, and save the file again."
        )
    utf8_problem = "unicode" in message.lower() or "utf-8" in message.lower()
    if utf8_problem or not _is_utf8(source or path):
        return DataValidationError(
            f"{path}: the file is not valid UTF-8 ({message}). It is probably a GBK "
            "export: pass --encoding gbk."
        )
    return DataValidationError(
        f"{path}: cannot be read as CSV: {message}. Check the delimiter and quoting, or "
        "save it again from the source system."
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- Excel -----------------------------------------------------------------------------------
def check_xlsx(path: Path, limits: ReadLimits) -> None:
    """Refuse a workbook that is not a zip, would expand beyond the limits, or declares XML
    entities (an "XML bomb": Excel never writes a DTD) — before any XML is parsed."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            unpacked = sum(m.file_size for m in members)
            packed = sum(m.compress_size for m in members) or 1
            if unpacked > limits.xlsx_max_mb * (1 << 20):
                raise limits.refuse(
                    path, f"the workbook decompresses to {unpacked / (1 << 20):,.0f} MB, over the "
                    f"limit of {limits.xlsx_max_mb:,.0f} MB", "--max-xlsx-mb",
                )
            if unpacked > _RATIO_FREE_BYTES and unpacked / packed > limits.xlsx_max_ratio:
                raise limits.refuse(
                    path, f"the workbook is compressed {unpacked / packed:,.0f}:1, over the limit of "
                    f"{limits.xlsx_max_ratio:,.0f}:1", "--max-xlsx-ratio",
                )
            for member in members:
                if not member.filename.lower().endswith((".xml", ".rels", ".vml")):
                    continue
                with archive.open(member) as fh:
                    head = fh.read(1 << 16)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head or b"<!doctype" in head:
                    from kamlib.errors import ImportRefused

                    raise ImportRefused(
                        f"{path}: part {member.filename} declares XML entities (<!DOCTYPE/"
                        "<!ENTITY>), which Excel never writes: a possible XML bomb. kamlib "
                        "does not read it. Open the file in Excel and save it again as .xlsx, "
                        "or export CSV."
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise DataValidationError(
            f"{path}: not a readable .xlsx workbook (the zip container is broken: {exc}). "
            "Open it in Excel and save it again as .xlsx, or export CSV."
        ) from exc


def _sheet_rows(path: Path, sheet: str | int | None, limits: ReadLimits) -> Iterator[list[str | None]]:
    """The sheet's rows as text (trailing empty cells cut), streamed by openpyxl's read-only
    mode, within the limits.  Row ``i`` (0-based) is spreadsheet row ``i + 1``."""
    import openpyxl

    check_xlsx(path, limits)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise DataValidationError(
            f"{path}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}). "
            "Open it in Excel and save it again as .xlsx."
        ) from exc
    try:
        names = book.sheetnames
        if sheet is None:
            name = names[0] if names else None
        elif isinstance(sheet, int):
            name = names[sheet] if -len(names) <= sheet < len(names) else None
        else:
            name = sheet if sheet in names else None
        if name is None:
            raise DataValidationError(
                f"{path}: has no sheet {sheet!r}. Sheets: {', '.join(names) or 'none'}. Name "
                "an existing sheet in the mapping file (sheet: NAME)."
            )
        ws = book[name]
        ws.reset_dimensions()  # do not trust the file's own claim of its size
        count = 0
        try:
            for values in ws.iter_rows(values_only=True):
                count += 1
                if count > limits.max_rows + 1:
                    raise limits.refuse(
                        path, f"sheet '{name}' has more than {limits.max_rows:,} rows (the limit)",
                        "--max-rows",
                    )
                last = len(values)
                while last and values[last - 1] is None:
                    last -= 1
                if last > limits.max_columns:
                    raise limits.refuse(
                        path, f"row {count} of sheet '{name}' has cells in {last:,} columns, "
                        f"over the limit of {limits.max_columns:,}", "--max-columns",
                    )
                yield [_cell_text(v) for v in values[:last]]
        except DataValidationError:
            raise
        except Exception as exc:  # broken sheet XML: openpyxl/expat raise many types
            raise DataValidationError(
                f"{path}: sheet '{name}' cannot be read ({type(exc).__name__}: {exc}). Open "
                "it in Excel and save it again as .xlsx, or export CSV."
            ) from exc
    finally:
        book.close()


def _cell_text(value: object) -> str | None:
    """A cell as the text a person sees (whole floats without '.0', as pandas reads them)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


#: Spreadsheet rows handed to DuckDB at a time (memory stays bounded whatever the sheet's size).
_EXCEL_CHUNK_ROWS = 20_000


def _stage_excel(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    sheet: str | int | None,
    hints: frozenset[str],
    fp: str,
    limits: ReadLimits,
) -> SourceFile:
    """Stream a sheet into a temporary text table in chunks: the header is found among the
    first 30 rows (title rows above it are skipped and reported); blank rows are dropped,
    row numbers stay the spreadsheet's; columns without a header and without any value are
    dropped."""
    import pandas as pd

    rows = _sheet_rows(path, sheet, limits)
    head = list(itertools.islice(rows, 30))
    width = max((len(r) for r in head), default=0)
    grid = pd.DataFrame([r + [None] * (width - len(r)) for r in head], dtype=object)
    grid = grid.dropna(how="all", axis=1)
    if grid.empty:
        if any(any(v is not None for v in r) for r in rows):
            raise DataValidationError(
                f"{path}: the first 30 rows of the sheet are empty; kamlib looks for the header "
                "there. Delete the empty rows above the header and save it again."
            )
        raise DataValidationError(f"{path}: the sheet is empty. Export it again.")
    grid.columns = range(grid.shape[1])
    header_idx = _find_header(grid, hints)
    notes = []
    if header_idx > 0:
        notes.append(f"skipped {header_idx} title row(s) above the header in row {header_idx + 1}")
    header = [("" if v is None else str(v)).strip() for v in head[header_idx]]
    staging = f"{table}_cells"
    columns = ["_row"]

    def widen(to: int) -> None:
        for i in range(len(columns) - 1, to):
            con.execute(f'ALTER TABLE "{staging}" ADD COLUMN "_c{i}" VARCHAR')
            columns.append(f"_c{i}")

    con.execute(f'CREATE OR REPLACE TEMP TABLE "{staging}" (_row BIGINT)')
    widen(max(width, len(header)))
    body = itertools.chain(
        zip(itertools.count(header_idx + 2), head[header_idx + 1 :]),
        zip(itertools.count(len(head) + 1), rows),
    )
    chunk: list[list[object]] = []
    total = 0

    def flush() -> None:
        frame = pd.DataFrame(
            [r + [None] * (len(columns) - len(r)) for r in chunk], columns=columns, dtype=object
        )
        con.register("_excel_chunk", frame)
        try:
            con.execute(
                f'INSERT INTO "{staging}" SELECT CAST(_row AS BIGINT), '
                + ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns[1:])
                + " FROM _excel_chunk"
            )
        finally:
            con.unregister("_excel_chunk")
        chunk.clear()

    for number, cells in body:
        if not any(v is not None for v in cells):
            continue  # a blank line
        if len(cells) + 1 > len(columns):
            if chunk:
                flush()
            widen(len(cells))
        chunk.append([number, *cells])
        total += 1
        if len(chunk) >= _EXCEL_CHUNK_ROWS:
            flush()
    if chunk:
        flush()
    labels = header + [""] * (len(columns) - 1 - len(header))
    filled = con.execute(
        "SELECT " + ", ".join(f'count("{c}")' for c in columns[1:]) + f' FROM "{staging}"'
    ).fetchone()
    keep = [
        i for i, (label, n) in enumerate(zip(labels, filled, strict=True))
        if label or n
    ]  # fmt: skip
    names = _dedupe([labels[i] or f"column{i + 1}" for i in keep])
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE "{table}" AS SELECT '
        + ", ".join(f'"_c{i}" AS "{n.replace(chr(34), chr(34) * 2)}"' for i, n in zip(keep, names, strict=True))
        + f', _row FROM "{staging}"'
    )
    con.execute(f'DROP TABLE "{staging}"')
    return SourceFile(
        path, f'"{table}"', tuple(names), total, header_idx + 1, "_row", None, fp, tuple(notes)
    )


def _find_header(grid, hints: frozenset[str]) -> int:
    from kamlib.data.mapping import normalise_header

    best, best_hits = 0, -1
    for i in range(min(30, len(grid))):
        cells = [normalise_header(str(v)) for v in grid.iloc[i] if isinstance(v, str) and v.strip()]
        hits = sum(c in hints for c in cells)
        if hits >= 2 and hits > best_hits:
            best, best_hits = i, hits
            break
    if best_hits < 0:  # no known header: first row with every kept column filled
        for i in range(min(30, len(grid))):
            if grid.iloc[i].notna().all():
                return i
    return best


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}.{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


# -- Parquet ---------------------------------------------------------------------------------
def _stage_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, fp: str, materialize: bool
) -> SourceFile:
    try:
        cols = tuple(
            r[0]
            for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_text(str(path))})").fetchall()
        )
    except duckdb.Error as exc:
        raise DataValidationError(
            f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0]}). Export it again."
        ) from exc
    select = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in cols)
    relation = f"(SELECT {select} FROM read_parquet({_sql_text(str(path))}))"
    if not materialize:
        return SourceFile(path, relation, cols, -1, 0, None, None, fp)
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" AS SELECT * FROM {relation}')
    rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return SourceFile(path, f'"{table}"', cols, rows, 0, _row_expr(con, table, 1), None, fp)


# -- shared ----------------------------------------------------------------------------------
def _row_expr(con: duckdb.DuckDBPyConnection, table: str, first: int) -> str:
    """Row numbers from rowid: a table filled by one statement keeps the file's order in
    consecutive rowids (temporary tables do not start them at 0)."""
    low = con.execute(f'SELECT coalesce(min(rowid), 0) FROM "{table}"').fetchone()[0]
    return f"(rowid - {low} + {first})"


def read_text_frame(
    path: str | Path,
    *,
    encoding: str | None = None,
    header_hints: frozenset[str] = frozenset(),
    limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """One export file (CSV/TSV, gzip, XLSX, Parquet) as a frame of text columns plus
    ``_row`` (the row a person sees in the file), read the way an import reads it (encoding
    detection, spreadsheet limits, title rows skipped).  Refusals are
    :class:`~kamlib.errors.DataValidationError` naming the file and the fix."""
    path = Path(path)
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="kamlib-read-") as tmp:
        try:
            src = stage_file(
                con, path, "_export", encoding=encoding, header_hints=header_hints,
                workdir=Path(tmp), materialize=True, limits=limits,
            )  # fmt: skip
            row = src.row_expr or "rowid + 1"
            frame = con.execute(f"SELECT *, {row} AS _row FROM {src.relation}").df()
        except duckdb.Error as exc:
            raise explain_read_error(path, exc) from exc
        finally:
            con.close()
    return frame
