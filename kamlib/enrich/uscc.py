"""Company identifiers: the Unified Social Credit Code (GB 32100-2015) and the D-U-N-S Number.

A USCC is 18 characters from ``0-9 A-H J-N P-R T-U W-Y`` (no I, O, S, V, Z); the last is a
check character: with the weights 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10,
30, 28 over the first 17, ``check = 31 - (Σ value × weight mod 31)``, where 31 means 0.
A D-U-N-S Number is 9 digits (often written with dashes: 12-345-6789).
"""

from __future__ import annotations

import re

from kamlib.enrich.parsing import nfkc

__all__ = [
    "USCC_CHARSET",
    "clean_duns",
    "clean_uscc",
    "is_valid_duns",
    "is_valid_uscc",
    "uscc_check_char",
    "uscc_problem",
]

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def clean_uscc(value: object) -> str | None:
    """NFKC, upper case, spaces and dashes removed; ``None`` when missing."""
    text = nfkc(value)
    if text is None:
        return None
    return re.sub(r"[\s\-]", "", text).upper() or None


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a USCC."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    check = 31 - total % 31
    return USCC_CHARSET[0 if check == 31 else check]


def uscc_problem(value: object) -> str | None:
    """Why ``value`` is not a valid USCC (one line), or ``None`` when it is valid or missing."""
    code = clean_uscc(value)
    if code is None:
        return None
    if len(code) != 18:
        return f"USCC {code!r} has {len(code)} characters, not 18"
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        return f"USCC {code!r} has characters outside the GB 32100-2015 set: {''.join(bad)}"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"USCC {code!r} fails the GB 32100-2015 check character (expected {expected})"
    return None


def is_valid_uscc(value: object) -> bool:
    """True for a present USCC whose check character holds."""
    return clean_uscc(value) is not None and uscc_problem(value) is None


def clean_duns(value: object) -> str | None:
    """The D-U-N-S Number as 9 digits (dashes and spaces removed; a number read as a float
    loses its ``.0``; 8 digits regain a leading zero); ``None`` when missing."""
    text = nfkc(value)
    if text is None:
        return None
    text = re.sub(r"[\s\-]", "", text)
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    if re.fullmatch(r"\d{8}", text):
        text = "0" + text
    return text or None


def is_valid_duns(value: object) -> bool:
    """True for 9 digits."""
    code = clean_duns(value)
    return code is not None and re.fullmatch(r"\d{9}", code) is not None
