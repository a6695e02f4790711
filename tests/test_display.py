"""Result objects show a short summary in a notebook, not a dump of their frames (#16)."""

from __future__ import annotations

import warnings

import pandas as pd

from kamlib.display import Brief, brief_html, brief_text


def test_a_brief_is_one_line_and_escaped_html():
    brief = Brief(
        "Thing", {"as of": pd.Timestamp("2026-09-30"), "n": 2000, "x": 0.0}, {".t": "1 × 2"}
    )
    assert brief_text(brief) == "<Thing as of 2026-09-30 · n 2,000 · x 0>"
    evil = Brief("Thing", {"name": "<script>alert(1)</script>"})
    assert "<script>" not in brief_html(evil) and "&lt;script&gt;" in brief_html(evil)
    assert "<code>.t</code>" in brief_html(brief)


def test_main_results_repr_short_and_say_how_to_get_their_tables(small_data, busiest_account):
    from kamlib.features import account_features
    from kamlib.forecast import forecast_period
    from kamlib.research import account_dossier
    from kamlib.scoring import score_accounts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = score_accounts(account_features(small_data, as_of="2026-09-30"))
        forecast = forecast_period(
            small_data, as_of="2026-09-30", period="2026-Q4", simulations=200, run_rate=False
        )
        dossier = account_dossier(small_data, busiest_account, as_of="2026-09-30")
    shown = {
        "KamData": (small_data, ".orders"),
        "ScoreResult": (scores, ".scores"),
        "PeriodForecast": (forecast, ".deals"),
        "AccountDossier": (dossier, ".revenue_by_quarter"),
        "PowerMap": (dossier.power_map, ".contacts"),
    }
    for kind, (result, table) in shown.items():
        text = repr(result)
        assert text.startswith(f"<{kind} ") and len(text) < 400, text
        page = result._repr_html_()
        assert kind in page and f"<code>{table}</code>" in page and len(page) < 4000
    assert "P50" in repr(forecast) and "accounts" in repr(scores)
