"""Does a CSV file need its values cleaned?  A scan of the bytes that proves it does not.

The import cleans every text value it reads: ``trim`` (the Unicode space separators DuckDB's
``trim`` removes) and, in id columns, byte-order marks and zero-width characters.  On an
orders file that is a fifth of the typing time (``trim`` copies every value), and many
exports need none of it.  :func:`needs_no_cleaning` reads the file's bytes once
(numpy, 1 MB blocks, one thread per part of the file) and answers ``True`` only when no value
can change: no ASCII space next to a delimiter, quote or line break (or at the file's
start or end), and none of the other space separators nor an invisible character anywhere
(a byte-order mark at the very start is the file's own; DuckDB skips it).  It is deliberately
conservative — a space after a comma inside a quoted value also says "clean it" — so the
answer can only cost time, never change a value (``tests/test_text_scan.py`` checks that
against DuckDB's own ``trim`` on generated files).

The scan is a pass of its own, before the import builds its SQL; a new table's fingerprint
and line count are read during DuckDB's read (they are not needed before it).
One pass hashing and scanning before the statement took 0.80 s on the large demo's 1 GB of
orders; the scan alone takes 0.36 s, and the hash shares the cores with DuckDB's read.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

#: The characters DuckDB's ``trim`` removes besides the ASCII space (Unicode "Zs"; checked
#: against DuckDB over every code point) and the invisible ones removed from ids
#: (:data:`kamlib.data.import_sql.INVISIBLE_CHARS`), as UTF-8.
WIDE_SPACES = "\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_WIDE = tuple(c.encode() for c in WIDE_SPACES + INVISIBLE)
_WIDE_LEAD = np.zeros(256, bool)
_WIDE_LEAD[[s[0] for s in _WIDE]] = True
_WIDE_LEADS = tuple(bytes([b]) for b in np.flatnonzero(_WIDE_LEAD))
_FIND_LIMIT = 32  # occurrences of a first byte in a block before numpy takes over
#: Bytes that end or start a CSV value: any delimiter kamlib's reader may detect, quotes,
#: line breaks.
_BOUNDARY = np.zeros(256, bool)
_BOUNDARY[list(b'\t\n\r",;|')] = True
_BOM = b"\xef\xbb\xbf"
_SEAM = 3  # bytes each block shares with the next: a character or a pair across the seam
_BLOCK = 1 << 20
_PART = 32 << 20  # smallest part of a file given to a thread of its own


def needs_no_cleaning(path: Path, *, block: int = _BLOCK, parts: int | None = None) -> bool:
    """``True`` when no value of the CSV text ``path`` would change by ``trim`` or by the
    removal of invisible characters (see the module's docstring); ``False`` when one might.
    ``parts``: threads, each scanning its share of the file (default: one per core, each
    share at least 32 MB)."""
    if path.name.lower().endswith(".gz"):
        return False  # compressed bytes say nothing about the text
    size = path.stat().st_size
    if parts is None:
        parts = max(1, min(os.cpu_count() or 1, size // _PART))
    bounds = [size * i // parts for i in range(parts + 1)]
    if parts == 1:
        return _part_clean(path, 0, size, size, block)
    with ThreadPoolExecutor(parts) as pool:  # numpy lets go of the GIL while it scans
        found = pool.map(
            lambda i: _part_clean(path, bounds[i], bounds[i + 1], size, block), range(parts)
        )
        return all(found)


def _part_clean(path: Path, start: int, stop: int, size: int, block: int) -> bool:
    """:func:`needs_no_cleaning` for the bytes ``start:stop`` (read with their neighbours)."""
    with path.open("rb") as fh:
        for pos in range(start, stop, block):
            first = max(pos - _SEAM, 0)
            fh.seek(first)
            buf = fh.read(min(pos + block, stop) + _SEAM - first)
            at_end = first + len(buf) >= size
            if first == 0 and buf.startswith(_BOM):  # the file's own: DuckDB skips it
                buf = buf[len(_BOM) :]
            if not _clean(buf, at_start=first == 0, at_end=at_end):
                return False
    return True


def _clean(buf: bytes, *, at_start: bool, at_end: bool) -> bool:
    """No ASCII space of ``buf`` next to a value's boundary, no wide space or invisible
    character in it.  A space at the buffer's first or last byte has a neighbour outside it:
    the file's start or end (a boundary), or a byte of the block before or after, which
    holds that space too with both its neighbours (the blocks overlap)."""
    a = np.frombuffer(buf, np.uint8)
    spaces = np.flatnonzero(a == 32)
    if spaces.size and spaces[0] == 0:
        if at_start:
            return False
        spaces = spaces[1:]
    if spaces.size and spaces[-1] == a.size - 1:
        if at_end:
            return False
        spaces = spaces[:-1]
    if spaces.size and (_BOUNDARY[a[spaces - 1]].any() or _BOUNDARY[a[spaces + 1]].any()):
        return False
    return not _wide_inside(buf, a)


def _wide_inside(buf: bytes, a: np.ndarray) -> bool:
    """Does ``buf`` hold a wide space or an invisible character?  Their first bytes are rare
    in most text (CJK characters start otherwise): ``bytes.find`` (memchr) looks for each
    (the five of them ≈ 0.14 s per GB in 1 MB blocks, against ≈ 0.4 s for numpy's
    positions of every multi-byte character); a block where one is common (curly quotes,
    dashes start like U+2000) is looked at by numpy instead."""
    for lead in _WIDE_LEADS:
        p, seen = buf.find(lead), 0
        while p >= 0:
            if buf.startswith(_WIDE, p):
                return True
            seen += 1
            if seen > _FIND_LIMIT:
                high = np.flatnonzero(a >= 0xC2)  # lead bytes of multi-byte characters
                return any(buf.startswith(_WIDE, p) for p in high[_WIDE_LEAD[a[high]]].tolist())
            p = buf.find(lead, p + 1)
    return False
