"""kamlib.research.account_dossier on the demo company: figures recomputed from the raw
tables in the test, rules checked against the generator's hidden truth, bad input, masking
down to the bytes of the rendered HTML."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kamlib.data.kamdata import KamData, Snapshot
from kamlib.demo import generate_demo
from kamlib.errors import DataValidationError
from kamlib.research import account_dossier, power_map, research_context, service_responsiveness
from kamlib.research.decision_makers import build_power_map

AS_OF = "2026-09-30"
CUT = pd.Timestamp(AS_OF)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dossier(small_data, busiest_account):
    return account_dossier(small_data, busiest_account, as_of=AS_OF)


def _revenue(orders: pd.DataFrame, account_ids, start: pd.Timestamp, end: pd.Timestamp) -> float:
    o = orders[orders["account_id"].isin(list(account_ids))]
    return float(o.loc[(o["order_date"] > start) & (o["order_date"] <= end), "amount"].sum())


def test_revenue_share_of_wallet_and_group_from_the_raw_orders(
    small_company, dossier, busiest_account
):
    orders = small_company.tables["orders"]
    accounts = small_company.tables["accounts"].set_index("account_id")
    year_ago = pd.Timestamp("2025-09-30")
    revenue = _revenue(orders, [busiest_account], year_ago, CUT)
    assert dossier.profile["revenue_12m"] == pytest.approx(revenue)
    last = dossier.share_of_wallet.iloc[-1]
    assert last["quarter"] == "2026-Q3"
    assert last["share_of_wallet"] == pytest.approx(
        revenue / accounts.loc[busiest_account, "category_spend"]
    )
    # 2025-Q4 point: 12 months to 2025-12-31
    q4 = dossier.share_of_wallet.set_index("quarter").loc["2025-Q4", "revenue_12m"]
    assert q4 == pytest.approx(_revenue(orders, [busiest_account], pd.Timestamp("2024-12-31"),
                                        pd.Timestamp("2025-12-31")))  # fmt: skip
    # group: every account whose chain of parents ends at the same top account
    parent = accounts["parent_account_id"].to_dict()

    def top(a):
        while isinstance(parent.get(a), str):
            a = parent[a]
        return a

    members = [a for a in accounts.index if top(a) == top(busiest_account)]
    assert dossier.group["group_id"] == top(busiest_account)
    assert dossier.group["group_accounts"] == len(members)
    assert dossier.group["group_revenue_12m"] == pytest.approx(
        _revenue(orders, members, year_ago, CUT)
    )
    children = set(accounts.index[accounts["parent_account_id"] == busiest_account])
    assert set(dossier.subsidiaries["account_id"]) == children
    assert dossier.revenue_by_quarter_line["revenue"].sum() == pytest.approx(
        dossier.revenue_by_quarter["revenue"].sum()
    )


def test_profile_and_group_facts_read_as_distinct_labels_laid_out_in_any_front_end(dossier):
    """Each fact of the profile and the group has its own label in both languages ('Group'
    twice told a reader nothing), and the facts carry their grid layout inline: JupyterLab,
    which has no report stylesheet, put a label in the value column."""
    import re

    from kamlib.methodology.labels import label, vocabulary
    from kamlib.views.format import facts

    for items in (dossier.profile, dossier.group, dossier.rules):
        unlabelled = set(items) - set(vocabulary().labels)
        assert not unlabelled, f"no en/zh label (shown as 'Ogsm status'): {unlabelled}"
        for lang in ("en", "zh"):
            labels = [label(key, lang) for key in items]
            assert len(set(labels)) == len(labels), labels
            html = facts(items, lang=lang).html
            assert re.search(r'<dl class="kamlib-facts" style="display:grid;', html)
            assert html.count('<dt style="') == len(items)


def test_whitespace_rule_recomputed(small_company, dossier, busiest_account):
    orders = small_company.tables["orders"].merge(
        small_company.tables["products"][["product_id", "product_line"]].rename(
            columns={"product_line": "line_of_product"}
        ),
        on="product_id",
        how="left",
    )
    orders["line"] = orders["product_line"].fillna(orders["line_of_product"])
    accounts = small_company.tables["accounts"].set_index("account_id")
    recent = orders[(orders["order_date"] > pd.Timestamp("2025-09-30")) & (orders["amount"] > 0)]
    industry = accounts.loc[busiest_account, "industry"]
    peers = recent[recent["account_id"].map(accounts["industry"]) == industry]
    peers = peers[peers["account_id"] != busiest_account]
    n_peers = peers["account_id"].nunique()
    share = peers.groupby("line")["account_id"].nunique() / n_peers
    mine = set(recent.loc[recent["account_id"] == busiest_account, "line"])
    expected = sorted(line for line, s in share.items() if s >= 0.4 and line not in mine)
    assert sorted(dossier.whitespace["product_line"]) == expected
    for row in dossier.whitespace.itertuples():
        assert row.share == pytest.approx(share[row.product_line])
        assert row.peers == n_peers


def test_power_map_and_score(small_company, small_data, dossier, busiest_account):
    contacts = small_company.tables["contacts"]
    mine = contacts[contacts["account_id"] == busiest_account]
    assert set(dossier.power_map.contacts["contact_id"]) == set(mine["contact_id"])
    has_economic = (mine["buying_role"] == "economic").any()
    assert ("no_economic_buyer" in set(dossier.power_map.gaps["gap"])) == (not has_economic)
    assert 0 <= dossier.power_map.strength <= 100
    pm = power_map(small_data, busiest_account, as_of=AS_OF)
    pd.testing.assert_frame_equal(pm.contacts, dossier.power_map.contacts)
    ctx = research_context(small_data, as_of=AS_OF)
    row = ctx.scores.set_index("account_id").loc[busiest_account]
    assert dossier.score["tier"] == row["tier"] and dossier.score["score"] == row["score"]
    assert dossier.score["compare_date"] == pd.Timestamp("2026-06-30")


def test_relationship_strength_follows_the_hidden_relationship(small_company, small_data):
    truth = small_company.truth["accounts"].set_index("account_id")["relationship_strength"]
    counts = small_company.tables["contacts"].groupby("account_id").size()
    accounts = counts[counts >= 4].index[:60]
    ctx = research_context(small_data, as_of=AS_OF)
    strength = pd.Series(
        {
            a: build_power_map(ctx.rows("contacts", a), ctx.rows("activities", a), cut=CUT,
                               account_id=a, settings=ctx.settings).strength
            for a in accounts
        },
        dtype="float64",
    )  # fmt: skip
    rho = strength.corr(truth.reindex(strength.index), method="spearman")
    assert rho > 0.3, f"Spearman {rho:.2f} between relationship strength and the hidden truth"


def test_unknown_account_suggests_close_matches(small_data, busiest_account):
    wrong = busiest_account + "9"
    with pytest.raises(
        DataValidationError, match=rf"'{wrong}' is not in the accounts.*{busiest_account}"
    ):
        account_dossier(small_data, wrong, as_of=AS_OF)
    with pytest.raises(DataValidationError, match="Did you mean"):
        power_map(small_data, wrong, as_of=AS_OF)


def test_account_without_contacts_orders_or_tickets_still_renders(small_company):
    tables = dict(small_company.tables)
    tickets = tables["service_tickets"]
    orders = tables["orders"]
    quiet = sorted(set(tables["accounts"]["account_id"]) - set(orders["account_id"])
                   - set(tickets["account_id"]))[0]  # fmt: skip
    tables["contacts"] = tables["contacts"][tables["contacts"]["account_id"] != quiet]
    d = KamData(tables, snapshot=Snapshot(None, "no-contacts", None, "demo"))
    dossier = account_dossier(d, quiet, as_of=AS_OF, mask_pii=True)
    missing = set(zip(dossier.missing["what"], dossier.missing["section"], strict=True))
    assert {("orders", "revenue"), ("service_tickets", "service"), ("contacts", "power_map")} <= (
        missing
    )
    assert dossier.revenue_by_quarter["revenue"].sum() == 0
    assert dossier.power_map.contacts.empty and np.isnan(dossier.power_map.strength)
    assert "missing_data" in set(dossier.findings["rule"])


def test_orders_only_store_gives_a_dossier(small_company):
    only = {t: small_company.tables[t] for t in ("accounts", "orders")}
    d = KamData(only, snapshot=Snapshot(None, "orders-only", None, "demo"))
    account = str(small_company.tables["orders"]["account_id"].iloc[-1])
    dossier = account_dossier(d, account, as_of=AS_OF)
    assert {"contacts", "activities", "service_tickets", "opportunities", "targets"} <= set(
        dossier.missing["what"]
    )
    assert dossier.revenue_by_quarter["revenue"].sum() != 0
    assert dossier.open_pipeline.empty and dossier.targets is None


def test_tickets_resolved_before_opened_are_reported(small_company):
    tables = dict(small_company.tables)
    t = tables["service_tickets"].copy()
    bad = t.index[t["resolved_at"].notna()][0]
    t.loc[bad, "resolved_at"] = t.loc[bad, "opened_at"] - pd.Timedelta(hours=5)
    tables["service_tickets"] = t
    d = KamData(tables, snapshot=Snapshot(None, "bad-ticket", None, "demo"))
    s = service_responsiveness(d, as_of=AS_OF)
    assert list(s.issues["ticket_id"]) == [t.loc[bad, "ticket_id"]]
    row = s.tickets.set_index("ticket_id").loc[t.loc[bad, "ticket_id"]]
    assert np.isnan(row["resolution_hours"])


def test_masked_dossier_holds_no_contact_data(small_company, small_data, busiest_account):
    d = account_dossier(small_data, busiest_account, as_of=AS_OF, mask_pii=True)
    contacts = small_company.tables["contacts"]
    mine = contacts[contacts["account_id"] == busiest_account]
    secrets = [v for c in ("name", "email", "phone") for v in mine[c].dropna()]
    text = json.dumps(
        [frame.astype(str).to_dict("list") for frame in _frames(d)] + [d.profile, d.rules],
        ensure_ascii=False, default=str,
    )  # fmt: skip
    leaked = [s for s in secrets if s in text]
    assert leaked == []
    again = account_dossier(small_data, busiest_account, as_of=AS_OF, mask_pii=True)
    assert list(again.power_map.contacts["name"]) == list(d.power_map.contacts["name"])


def _frames(d) -> list[pd.DataFrame]:
    out = [v for v in vars(d).values() if isinstance(v, pd.DataFrame)]
    pm = d.power_map
    out += [pm.contacts, pm.gaps, pm.deals]
    if d.targets is not None:
        out += [d.targets.progress, d.targets.plan_items]
    return out


def test_service_rule_finds_the_hidden_deteriorating_accounts():
    """Default scale (the small one has too few tickets per account to judge)."""
    company = generate_demo(scale="default")
    tables = {t: company.tables[t] for t in ("accounts", "orders", "service_tickets")}
    d = KamData(tables, snapshot=Snapshot(None, "default", None, "demo"))
    s = service_responsiveness(d, as_of=AS_OF)
    accounts = s.accounts.set_index("account_id")
    truth = company.truth["accounts"].set_index("account_id")["service_deteriorating"]
    truth = truth.reindex(accounts.index).fillna(False).astype(bool)
    flagged = accounts["deteriorating"]
    judged = (accounts["tickets_recent"] >= 3) & (accounts["tickets_baseline"] >= 3)
    precision = (flagged & truth).sum() / flagged.sum()
    recall = (flagged & truth).sum() / (truth & judged).sum()
    # measured: precision 0.75, recall 0.71 among the 21 truly deteriorating accounts with
    # enough tickets in both windows (most others have 0–2 tickets, or churned long ago)
    assert precision >= 0.6 and recall >= 0.6, (precision, recall)
    # the stalls the generator builds in (kamlib.demo.engagement.STALLS) come out on top
    stalls = s.stalls[s.stalls["stall"]]
    top = set(zip(stalls["department"], stalls["region"], strict=True))
    assert {("质量部", "西南"), ("物流部", "西北")} <= top
    assert stalls.iloc[0][["department", "region"]].tolist() == ["质量部", "西南"]


@pytest.mark.slow
def test_rendered_masked_report_has_no_pii_in_the_html(demo_store, tmp_path):
    """The customer_research notebook rendered through `kam report` with mask_pii=true: no
    contact name, phone or e-mail of the account in the HTML bytes (chart JSON included, in
    UTF-8 and as JSON escapes)."""
    import duckdb

    with duckdb.connect(str(demo_store), read_only=True) as con:
        contacts = con.execute("SELECT * FROM contacts").df()
    account = str(contacts.groupby("account_id").size().idxmax())
    out = tmp_path / "reports"
    cmd = [str(Path(sys.executable).with_name("kam")), "report", "customer_research",
           "-p", f"account_id={account}", "-p", "mask_pii=true", "-p", f"as_of={AS_OF}",
           "--store", str(demo_store), "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    [page] = list(out.glob("customer_research/*/*/index.html"))
    raw = page.read_bytes()
    mine = contacts[contacts["account_id"] == account]
    secrets = [str(v) for c in ("name", "email", "phone") for v in mine[c].dropna()]
    assert secrets
    for secret in secrets:
        for form in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)):
            assert form.encode("utf-8") not in raw, f"{secret!r} leaked into the HTML"
    assert b"Person-" in raw and b"vega" in raw


# -- the sales-process sections (issue #13) ------------------------------------------------------
def test_competitors_met_on_the_account_from_the_raw_tables(
    small_company, dossier, busiest_account
):
    opps = small_company.tables["opportunities"]
    comp = small_company.tables["opportunity_competitors"]
    mine = opps[(opps["account_id"] == busiest_account) & (opps["created_date"] <= CUT)]
    rows = comp[comp["opportunity_id"].isin(mine["opportunity_id"])].merge(
        mine[["opportunity_id", "status", "lost_to"]], on="opportunity_id"
    )
    got = dossier.competitors.set_index("competitor")
    assert sorted(got.index) == sorted(rows["competitor"].unique())
    for name, r in rows.groupby("competitor"):
        closed = r[r["status"].isin(["won", "lost"])]
        lost_to = closed["lost_to"].astype("string").str.strip().str.casefold()
        assert got.loc[name, "deals"] == len(closed)
        assert got.loc[name, "won"] == (closed["status"] == "won").sum()
        assert got.loc[name, "lost_to_them"] == (lost_to == name.casefold()).fillna(False).sum()
        assert got.loc[name, "open"] == (r["status"] == "open").sum()
    assert (got["last_met"] <= CUT + pd.Timedelta(days=1)).all()


def test_playbook_gaps_recomputed_from_the_playbooks_and_the_tasks(small_company, small_data):
    """Every open deal's required tasks of its current stage not done by the date, from the
    methodology's playbooks and the raw tasks table (the demo's stages are the current ones)."""
    from kamlib.methodology import load_methodology

    playbooks = load_methodology().require_playbooks()
    req = playbooks.tasks_frame()
    req = req[req["required"]]
    tasks = small_company.tables["tasks"]
    done = tasks[(tasks["status"] != "skipped") & (tasks["done_date"] < CUT + pd.Timedelta(days=1))]
    done = set(zip(done["opportunity_id"], done["task"], strict=True))
    opps = small_company.tables["opportunities"]
    open_deals = opps[(opps["status"] == "open") & (opps["created_date"] <= CUT)]
    expected = {}
    for o in open_deals.itertuples():
        known = o.sales_process in playbooks.processes
        process = o.sales_process if known else playbooks.processes[0]  # the default
        codes = req.loc[(req["sales_process"] == process) & (req["stage"] == o.stage), "task"]
        owed = tuple(c for c in codes if (o.opportunity_id, c) not in done)
        if owed:
            expected[o.opportunity_id] = (o.account_id, owed)
    accounts = sorted({a for a, _ in expected.values()})[:3]
    assert accounts, "the demo has open deals owing their stage tasks"
    for account in accounts:
        d = account_dossier(small_data, account, as_of=AS_OF)
        got = {r.opportunity_id: r.next_tasks for r in d.playbook_gaps.itertuples()}
        want = {k: v for k, (a, v) in expected.items() if a == account}
        assert {k: v for k, v in got.items() if v} == want
        [f] = d.findings[d.findings["rule"] == "deal_playbook_gaps"].to_dict("records")
        assert f["params"]["count"] == len(d.playbook_gaps)
        assert f["impact"] == pytest.approx(d.playbook_gaps["amount"].sum())


def test_a_store_without_the_sales_tables_names_them_and_the_dossier_stands(
    small_company, busiest_account
):
    tables = {
        n: f for n, f in small_company.tables.items()
        if n not in ("tasks", "opportunity_competitors")
    }  # fmt: skip
    d = KamData(tables, snapshot=Snapshot(None, "no-sales-tables", None, "demo"))
    dossier = account_dossier(d, busiest_account, as_of=AS_OF)
    assert dossier.competitors.empty and dossier.playbook_gaps.empty
    lacking = dossier.missing[dossier.missing["why"] == "table not imported"]
    assert set(zip(lacking["what"], lacking["section"], strict=True)) == {
        ("tasks", "playbook_gaps"), ("opportunity_competitors", "competitors"),
    }  # fmt: skip
    assert len(dossier.open_pipeline) and len(dossier.power_map.contacts)
    assert "deal_playbook_gaps" not in set(dossier.findings["rule"])


def test_a_wallet_estimate_below_our_revenue_is_a_finding_not_a_share(
    small_company, busiest_account
):
    """Revenue above the account's category spend is no share of wallet (180 % means the
    estimate is stale): the trend leaves those quarters out, the profile shows none, and a
    data finding asks for a new estimate."""
    tables = dict(small_company.tables)
    orders = tables["orders"]
    revenue = _revenue(orders, [busiest_account], pd.Timestamp("2025-09-30"), CUT)
    accounts = tables["accounts"].copy()
    accounts.loc[accounts["account_id"] == busiest_account, "category_spend"] = revenue / 1.8
    tables["accounts"] = accounts
    d = KamData(tables, snapshot=Snapshot(None, "stale-wallet", None, "demo"))
    dossier = account_dossier(d, busiest_account, as_of=AS_OF)
    sow = dossier.share_of_wallet
    last = sow.iloc[-1]
    assert last["revenue_12m"] == pytest.approx(revenue)
    assert np.isnan(last["share_of_wallet"]) and bool(last["wallet_below_revenue"])
    assert not (sow["share_of_wallet"] > 1).any()
    assert dossier.profile["share_of_wallet"] is None
    assert "wallet_below_revenue" in set(dossier.findings["rule"])
    # the untouched account has its share and no such finding
    plain = account_dossier(KamData(dict(small_company.tables), snapshot=Snapshot(
        None, "plain", None, "demo")), busiest_account, as_of=AS_OF)  # fmt: skip
    assert "wallet_below_revenue" not in set(plain.findings["rule"])
    assert not plain.share_of_wallet["wallet_below_revenue"].any()
