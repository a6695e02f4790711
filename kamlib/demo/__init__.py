"""A deterministic synthetic company to learn, teach and test the key-account method on.

The demo company makes industrial automation (PLCs, drives, servo motors, HMIs, sensors,
industrial software and services) and sells it to manufacturers in China (华东, 华南, 华北,
华中, 西南, 西北, 东北) and a few export countries.  :func:`generate_demo` returns every
canonical table (``kamlib.data.schemas.TABLES``) for five years of history ending on
``end_date``, plus the generator's hidden truth, so an analysis can be checked against
what really drives the data.

The world is simulated one year past ``end_date`` and then cut at ``end_date``, the way
``KamData.as_of`` cuts real data: no order, activity, ticket, stage change or closing is
dated after ``end_date`` (timestamps fall on or before that day), while forward-looking
plan dates may lie after it: the expected close dates of open opportunities, the due
dates of open plan items and the target periods of the current year.

Structure built in (and tested in ``tests/test_demo.py``)
---------------------------------------------------------
- Pareto revenue: the top 20% of customers bring about 80% of five-year revenue.
- Group hierarchies through ``parent_account_id`` (up to three levels, no cycles).
- Big companies that are small customers: large ``annual_revenue`` / ``employees``,
  tiny share of wallet.
- ``category_spend`` (the wallet, an estimate with noise; a few missing), so share of
  wallet ranges from about 2% to 80%.
- Growing, stable and slipping accounts, new customers during the five years, a few
  churned ones (most with deteriorating service before they left), prospects.
- Orders: run-rate business (most of revenue) plus deliveries of won projects; about
  1% of lines are returned or credited later (negative amounts, own ``RT``/``CN`` order);
  margin varies by product line and by the customer's discount.
- Opportunities whose stage history has one row per stage entered and one per pushed-out
  expected close date; amounts change at quote and negotiation; win chances follow a
  hidden logistic model (share of wallet, contacts' support, economic buyer on side or
  against, source, size, cross-sell, strong competitor); about 7% are "zombies" that sit
  in a stage for months and are finally closed as ``no_decision``; open and stale deals
  at the end date.
- Decision makers with buying role, influence, support, reaction mode; a quarter of key
  accounts have no economic buyer on record.
- Activities (deal work, account visits, QBRs and joint business meetings of key
  accounts); service tickets with SLA clocks, stalls in some department/region pairs
  (质量部 in 西南, 物流部 in 西北, 财务部, overseas), escalations and satisfaction.
- OGSM targets company → team → manager → key account for the previous and current
  year, by month and quarter (revenue, bookings, new_opportunities) and a share-of-wallet
  goal per key account; success-plan items, some overdue.
- The sales process (:mod:`kamlib.demo.sales_process`, from a random stream of its own so
  that everything above is the same with or without it): each deal's ``sales_process``
  (tender — always for tender sources, more often the bigger the deal —, framework
  agreement for key accounts, direct purchase), the playbook's ``tasks`` and resources of
  the default methodology file on every stage a deal entered (done before the deal left
  the stage, done late, skipped or still open; some owners more diligent than others;
  a few resources used more on big deals), ``opportunity_competitors`` (the primary
  competitor the deal names, others of the product line, prices where the deal was
  quoted) and ``lost_to`` (the competitor that won, or "no decision").

Hidden truth
------------
``truth["accounts"]`` (one row per account):

- ``account_id``
- ``is_prospect``: never had run-rate business (may still win a first project).
- ``acquired_date``: first day of run-rate business when it began inside the five
  years (NaT: a customer from before, or a prospect).
- ``churned``, ``churn_date``: stopped buying for good (NaT when not churned).
- ``trend``: growing / stable / slipping; ``growth_rate``: yearly log growth of the
  purchase rate after ``trend_change_date`` (flat before it).
- ``propensity``: the true purchase rate, run-rate orders per year at the end date
  (0 when churned or a prospect).  It scales with ``scale`` (see below).
- ``annual_value``: expected run-rate revenue per year at the end date (0 if churned).
- ``true_category_spend``, ``true_share_of_wallet``: the real wallet per year and our
  share of it at the end date (the visible ``category_spend`` is a noisy estimate).
- ``relationship_strength``: latent quality of the relationship (about N(0, 1)); drives
  contacts' support and win chances.
- ``economic_buyer_known``: an economic buyer is among the account's contacts.
- ``is_key_account``: top 12% by ``annual_value`` and not churned.
- ``is_big_company_small_customer``: large company (top ~7% by revenue), small share.
- ``service_deteriorating``, ``service_deterioration_start``: from that date tickets
  come more often, are answered three times slower and are escalated more.
- ``runrate_value_next_12m``: expected run-rate revenue in the 12 months after the end
  date (trend continued, season, churn, returns); ``project_value_next_12m``: expected
  deliveries of deals in that year (certain for deals already won, probability-weighted
  for open ones and for the deals the hidden year brings); ``true_value_next_12m``: their
  sum, the quantity a good account score should predict; ``realised_value_next_12m``:
  the net order amount the simulated hidden year actually brought.

``truth["opportunities"]`` (one row per visible opportunity): ``opportunity_id``,
``account_id``, ``true_win_probability`` (the hidden model's chance when the deal was
created), ``true_outcome`` (won / lost, also for deals still open at the end date),
``true_close_date`` (may lie after the end date), ``initial_expected_close_date``,
``true_slip_days`` (true close minus the first expected close date), ``is_zombie``.

``truth["project_orders"]``: ``order_id`` → ``opportunity_id`` for the orders that
deliver won deals (all other sales orders are run-rate business).

``truth["task_effects"]`` (one row per playbook code): ``task``, ``stage``, ``kind``,
``true_difference`` — the difference in win probability (percentage points) a task done
before the deal left its stage makes, for the deal's size and owner, averaged over the
visible deals closed by the end date that entered the stage in a process listing the code
(what an analysis adjusted for deal size and owner should find) —, ``raw_difference`` (the
plain "won with − won without" the generator implies: lower than ``true_difference`` where
the code is done more on big deals, which win less often), ``deals``, ``done_share``,
``log_odds``, ``confounded``.  Both are computed from the generating probabilities, not
from the drawn tasks (:mod:`kamlib.demo.sales_process` has the model).

``truth["competitor_win_rates"]`` (one row per competitor): ``competitor``,
``true_win_rate`` (0-1: our probability of winning a deal, closed by the end date, where
the competitor is present, from the generating probabilities), ``expected_deals`` (the
expected number of such deals), ``strong`` (one of the strong competitors that lower the
win chance when they are the primary one).

Scales and cost
---------------
Measured on the 2-core development machine (Python 3.11, pandas 3, pyarrow strings):
wall time of ``generate_demo`` and peak resident memory of the whole process.  Large took
32 s (26 s of CPU) on a quiet machine and up to a minute while other jobs ran.

========  ========  ===================  ============  ========  ===========
scale     accounts  run-rate orders/yr   order lines   time      peak memory
                    (median customer)
========  ========  ===================  ============  ========  ===========
small     300       3                    ~18 k         ~0.5 s    ~0.2 GB
default   2,000     4.5                  ~0.22 M       ~1.5 s    ~0.3 GB
large     20,000    22                   ~9.9 M        ~30-60 s  ~3.9 GB
========  ========  ===================  ============  ========  ===========

Customers of the larger scales order more often in smaller orders (same yearly value), so
``propensity`` depends on the scale; revenue per account does not.

Example
-------
>>> from kamlib.demo import generate_demo
>>> demo = generate_demo(scale="small")
>>> len(demo.tables["accounts"])
300
>>> demo.truth["accounts"][["account_id", "trend", "true_value_next_12m"]].shape
(300, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kamlib.data.schemas import TABLES
from kamlib.demo._common import NAT, SCALES, Calendar, dates
from kamlib.demo.company import (
    TRENDS,
    contacts_frame,
    draw_contacts,
    draw_customers,
    draw_sales_force,
    products_frame,
    revise_category_spend,
)
from kamlib.demo.engagement import draw_activities, draw_service_tickets
from kamlib.demo.goals import draw_plan_items, draw_targets
from kamlib.demo.orders import draw_orders
from kamlib.demo.pipeline import draw_pipeline
from kamlib.demo.registry import draw_registry
from kamlib.demo.sales_process import draw_sales_process
from kamlib.errors import ConfigError
from kamlib.methodology import load_methodology

__all__ = ["SCALES", "DemoCompany", "generate_demo"]


@dataclass(frozen=True)
class DemoCompany:
    """The canonical tables of the demo company and the generator's hidden truth.

    ``tables`` has one frame per name in ``kamlib.data.schemas.TABLES``, with exactly the
    schema's columns in schema order and canonical dtypes; ``truth`` has the frames
    described in the module docstring (``accounts``, ``opportunities``,
    ``project_orders``, ``task_effects``, ``competitor_win_rates``).
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    scale: str
    seed: int
    end_date: pd.Timestamp
    #: the registry export (``companies``: 天眼查-style headers, ``events``) for ``kam enrich``
    registry: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Rows per table."""
        return pd.DataFrame(
            {"table": list(self.tables), "rows": [len(f) for f in self.tables.values()]}
        )


def generate_demo(
    *, scale: str = "default", seed: int = 2026, end_date: str | pd.Timestamp = "2026-09-30"
) -> DemoCompany:
    """Generate the demo company: five years of history ending on ``end_date``.

    Parameters
    ----------
    scale
        ``"small"`` (about 300 accounts, for tests), ``"default"`` (about 2,000 accounts)
        or ``"large"`` (about 20,000 accounts and 10 million order lines).
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives identical frames.
    end_date
        Last day of the history (no event is dated after it).

    Returns
    -------
    DemoCompany
        ``tables`` (the canonical tables) and ``truth`` (the hidden truth).
    """
    if scale not in SCALES:
        raise ConfigError(
            f"The 'scale' parameter of generate_demo must be one of {', '.join(SCALES)}. "
            f"Got {scale!r} instead."
        )
    try:
        end = pd.Timestamp(end_date)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"The 'end_date' parameter of generate_demo must be a date like '2026-09-30'. "
            f"Got {end_date!r} instead."
        ) from exc
    if pd.isna(end):
        raise ConfigError(
            f"The 'end_date' parameter of generate_demo must be a date like '2026-09-30'. "
            f"Got {end_date!r} instead."
        )
    end = end.normalize()
    spec = SCALES[scale]
    rng = np.random.default_rng(seed)
    cal = Calendar.build(end)

    sales = draw_sales_force(rng, spec.accounts)
    cust = draw_customers(rng, spec.accounts, cal, sales)
    products = products_frame()
    contacts = draw_contacts(rng, cust)
    pipe = draw_pipeline(rng, cal, cust, contacts, sales)
    book = draw_orders(rng, cal, cust, pipe, spec, products)
    cust.accounts = revise_category_spend(rng, cust, book.trailing)
    activities, last_contact = draw_activities(rng, cal, cust, contacts, pipe, sales)
    tickets = draw_service_tickets(rng, cal, cust)
    targets, account_targets = draw_targets(rng, cal, cust, sales, book, pipe)
    plan_items = draw_plan_items(rng, cal, cust, sales, account_targets)
    # last, from a stream of its own: the tables above stay what they were without it
    process = draw_sales_process(
        seed, cal, cust, pipe, sales, load_methodology().require_playbooks()
    )

    tables = {
        "accounts": cust.accounts,
        "products": products[0],
        "orders": book.orders,
        "opportunities": pipe.opportunities.assign(
            sales_process=pd.array(process.sales_process, dtype="str"),
            lost_to=pd.array(process.lost_to, dtype="str"),
        ),
        "stage_history": pipe.stage_history,
        "contacts": contacts_frame(contacts, last_contact),
        "opportunity_contacts": pipe.opportunity_contacts,
        "activities": activities,
        "service_tickets": tickets,
        "targets": targets,
        "plan_items": plan_items,
        "tasks": process.tasks,
        "opportunity_competitors": process.opportunity_competitors,
    }
    # canonical order; the registry tables come from matching the demo's registry export
    # (kamlib enrich), not from the generator
    tables = {name: tables[name] for name in TABLES if name in tables}
    # the registry export, from a stream of its own; accounts gain uscc and province only
    registry = draw_registry(seed, tables["accounts"], end)
    tables["accounts"] = registry.accounts

    active = ~cust.churned & ~cust.is_prospect
    economic = np.bincount(contacts.account[contacts.role == 0], minlength=cust.n) > 0
    runrate = book.runrate_next_12m
    truth_accounts = pd.DataFrame(
        {
            "account_id": pd.array(cust.account_id, dtype="str"),
            "is_prospect": cust.is_prospect,
            "acquired_date": dates(
                np.where(
                    (cust.acquired_day >= cal.start) & ~cust.is_prospect, cust.acquired_day, NAT
                )
            ),  # fmt: skip
            "churned": cust.churned,
            "churn_date": dates(np.where(cust.churned, cust.churn_day, NAT)),
            "trend": pd.array(np.array(TRENDS, dtype=object)[cust.trend], dtype="str"),
            "growth_rate": cust.growth,
            "trend_change_date": dates(
                np.clip(cal.end + np.round(cust.change_t * 365.25), cal.start, cal.end).astype(
                    np.int64
                )
            ),
            "propensity": np.where(active, book.rate, 0.0),
            "annual_value": np.where(active, cust.value, 0.0),
            "true_category_spend": cust.wallet,
            "true_share_of_wallet": np.where(active, cust.share, 0.0),
            "relationship_strength": cust.relationship,
            "economic_buyer_known": economic,
            "is_key_account": cust.key,
            "is_big_company_small_customer": cust.big_small,
            "service_deteriorating": cust.deteriorating,
            "service_deterioration_start": dates(
                np.where(cust.deteriorating, cust.det_start_day, NAT)
            ),
            "runrate_value_next_12m": runrate,
            "project_value_next_12m": book.project_next_12m,
            "true_value_next_12m": runrate + book.project_next_12m,
            "realised_value_next_12m": book.realised_next_12m,
        }
    )
    for flag in (
        "is_prospect", "churned", "economic_buyer_known", "is_key_account",
        "is_big_company_small_customer", "service_deteriorating",
    ):  # fmt: skip
        truth_accounts[flag] = truth_accounts[flag].astype("boolean")
    truth = {
        "accounts": truth_accounts,
        "opportunities": pipe.truth,
        "project_orders": book.project_orders,
        "task_effects": process.task_effects,
        "competitor_win_rates": process.competitor_win_rates,
        "registry": registry.truth,
    }
    return DemoCompany(
        tables=tables, truth=truth, scale=scale, seed=seed, end_date=end,
        registry={"companies": registry.companies, "events": registry.events},
    )  # fmt: skip
