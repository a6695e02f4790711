"""Does registry data improve the score?  The portfolio review's back-test, per methodology.

Runs :func:`kamlib.views.portfolio_review` on a store (the demo, enriched by ``kam demo``)
with each methodology file given, and prints the validation figures the review reports: the
lift of the top tier, the Gini of ranking by the score, by the baseline (last year's revenue)
and by the value itself (the best possible), plus the accounts and the value share per tier.
No wall-clock figure: this measures the ranking, not speed.

    git show <commit>:kamlib/resources/methodology.yml > /tmp/before.yml
    kam demo --store /tmp/demo.duckdb              # default scale, seed 2026, enriched
    .venv/bin/python benchmarks/registry_scoring_lift.py --store /tmp/demo.duckdb \\
        --methodology /tmp/before.yml --methodology default
"""

from __future__ import annotations

import argparse
import warnings

from kamlib.data import KamData, load
from kamlib.views import portfolio_review


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--as-of", default=None, help="review date (default: last order day)")
    parser.add_argument(
        "--methodology", action="append", required=True,
        help="a methodology file, or 'default' for kamlib's shipped one (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--without-registry", action="store_true",
        help="leave the firmographics and company_events tables out (an un-enriched store)",
    )  # fmt: skip
    args = parser.parse_args()
    data = load(args.store)
    if args.without_registry:
        kept = {t: data[t] for t in data.tables if t not in ("firmographics", "company_events")}
        data = KamData(kept, snapshot=data.snapshot)
    as_of = args.as_of or data.orders["order_date"].max().date().isoformat()
    print(f"store {args.store} · tables: {', '.join(data.tables)} · as of {as_of}")
    for meth in args.methodology:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            review = portfolio_review(data, None if meth == "default" else meth, as_of=as_of)
        v = review.validation
        if v is None:
            print(f"{meth}: no validation ({review.status['validation']})")
            continue
        print(
            f"{meth}: back-test {review.backtest_date} · accounts {v.n_accounts} · top tier "
            f"{v.top_tier} lift {v.lift_top_tier:.4f} · Gini score {v.gini_score:.4f} · "
            f"baseline {v.gini_baseline:.4f} · perfect {v.gini_perfect:.4f}"
        )
        print(
            v.by_tier[["tier", "accounts", "account_share", "value_share", "lift"]].to_string(
                index=False, float_format=lambda x: f"{x:.4f}"
            )
        )


if __name__ == "__main__":
    main()
