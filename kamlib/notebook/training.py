"""Exercises for the training notebooks (``notebooks/training/``): check an answer, say why.

A training notebook ends with short exercises.  The learner writes an answer into a cell
(``answer_1 = ...``); :func:`check` compares it with the expected value the notebook
computed through kamlib and returns a :class:`Feedback` that renders as one line — correct,
not quite (with the hint and, for numbers, how far off), or not answered yet.  A notebook
run with ``strict=True`` (as CI runs them, with the worked answers filled in) raises
:class:`~kamlib.errors.KamlibError` on a wrong answer, so a methodology change that breaks
an exercise is caught.

Pure: no printing, no file access; the notebook displays the returned object.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kamlib.errors import KamlibError
from kamlib.methodology.labels import check_lang

__all__ = ["Feedback", "check"]

_TEXT = {
    "en": {
        "correct": "Correct",
        "wrong": "Not quite",
        "open": "Not answered yet — replace ... with your answer",
        "expected": "expected",
        "got": "your answer",
        "hint": "Hint",
    },
    "zh": {
        "correct": "正确",
        "wrong": "还不对",
        "open": "尚未作答——请把 ... 换成你的答案",
        "expected": "正确答案",
        "got": "你的答案",
        "hint": "提示",
    },
}


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer.

    Attributes
    ----------
    exercise : the exercise's label (e.g. ``"1"``).
    status : ``"correct"``, ``"wrong"`` or ``"open"`` (not answered).
    message : the one-line feedback in the notebook's language.
    """

    exercise: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def _repr_markdown_(self) -> str:
        mark = {"correct": "✅", "wrong": "❌", "open": "✏️"}[self.status]
        return f"{mark} **{html.escape(self.exercise)}** — {html.escape(self.message)}"

    def __str__(self) -> str:
        return f"{self.exercise}: {self.message}"


def check(
    exercise: str,
    answer: Any,
    expected: Any,
    *,
    tolerance: float = 0.0,
    hint: str = "",
    lang: str = "en",
    strict: bool = False,
) -> Feedback:
    """Compare a learner's answer with the expected value.

    Parameters
    ----------
    exercise
        Label shown with the feedback (``"Exercise 1"``).
    answer
        The learner's answer; ``...`` (Ellipsis) means not answered yet.
    expected
        The right answer: a number (compared with ``tolerance``, relative to the expected
        value's size, at least absolute ``tolerance`` for values near 0), a text (compared
        ignoring case and surrounding spaces), or a collection (compared as a set of texts
        or numbers — order does not matter).
    tolerance
        Allowed relative error for numbers (0: exact).
    hint
        What to look at when the answer is wrong.
    lang
        ``"en"`` or ``"zh"``.
    strict
        Raise :class:`KamlibError` instead of returning a ``"wrong"`` or ``"open"``
        feedback (CI runs the notebooks with the worked answers and ``strict=True``).

    Returns
    -------
    Feedback
    """
    text = _TEXT[check_lang(lang)]
    if answer is Ellipsis:
        feedback = Feedback(exercise, "open", text["open"])
    elif _same(answer, expected, tolerance):
        feedback = Feedback(exercise, "correct", text["correct"])
    else:
        detail = f"{text['got']}: {_show(answer)}"
        if hint:
            detail += f". {text['hint']}: {hint}"
        feedback = Feedback(exercise, "wrong", f"{text['wrong']} ({detail})")
    if strict and not feedback.correct:
        raise KamlibError(f"{exercise}: {feedback.message} ({text['expected']}: {_show(expected)})")
    return feedback


def _same(answer: Any, expected: Any, tolerance: float) -> bool:
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().casefold() == expected.strip().casefold()
    if _is_number(expected):
        if not _is_number(answer):
            return False
        a, e = float(answer), float(expected)
        if math.isnan(a) or math.isnan(e):
            return False
        return abs(a - e) <= tolerance * max(abs(e), 1.0) if tolerance else a == e
    if isinstance(expected, Iterable):
        if isinstance(answer, str) or not isinstance(answer, Iterable):
            return False
        return {_key(v) for v in answer} == {_key(v) for v in expected}
    return answer == expected


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)


def _key(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().casefold()
    if _is_number(value):
        return round(float(value), 9)
    return value


def _show(value: Any) -> str:
    if _is_number(value):
        return f"{float(value):,.4g}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Iterable):
        return ", ".join(sorted(str(v) for v in value))
    return repr(value)
