"""Widgets and checks for live work in JupyterLab: the analyst's and the trainer's layer.

:class:`ScoringExplorer` re-scores the accounts as weights and tier thresholds move (what-if
on the methodology's scoring model), :func:`what_if` computes a setting aside (for checks
that must not depend on where the sliders stand) and :func:`scoring_walkthrough` explains
one scoring step by step; :func:`check` marks a training exercise's answer right or wrong
against kamlib's own computation.  They use the views' display helpers and the charts; the
analysis stays in the packages below.
"""

from kamlib.notebook.explore import (
    ExplorerState,
    ScoringExplorer,
    ScoringWalkthrough,
    scoring_walkthrough,
    what_if,
)
from kamlib.notebook.training import Feedback, check

__all__ = [
    "ExplorerState",
    "Feedback",
    "ScoringExplorer",
    "ScoringWalkthrough",
    "check",
    "scoring_walkthrough",
    "what_if",
]
