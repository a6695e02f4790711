"""The customers, the sales force, the catalogue and the decision makers of the demo company.

:func:`draw_customers` draws every account's hidden economics first (how much it is worth
to us per year, its wallet, its trend, whether it churns) and derives what a CRM would show
(firmographics, owner, category spend) from them, so the visible tables carry the signal a
good key-account method should find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.data.schemas import OWNERSHIP
from kamlib.demo import vocabulary as voc
from kamlib.demo._common import (
    NAT,
    Calendar,
    canonical_frame,
    choice_index,
    dates,
    rank01,
    take_text,
)

TRENDS = ["growing", "stable", "slipping"]
LINES = list(voc.PRODUCT_LINES)
GLOBAL_LINE_WEIGHT = np.array([0.24, 0.18, 0.22, 0.10, 0.14, 0.12])
MEDIAN_VALUE = 260_000.0  # median yearly run-rate revenue of a customer, CNY
VALUE_SIGMA = 1.55  # spread of log yearly value: sets the Pareto curve
PROJECT_UPLIFT = 1.2  # project deliveries on top of run-rate business, in the wallet


@dataclass
class SalesForce:
    """Account managers (in teams), team heads and the sales VP."""

    names: np.ndarray  # manager names
    team: np.ndarray  # team index per manager
    team_names: list[str]
    team_heads: list[str]
    vp: str


@dataclass
class Customers:
    """Hidden and visible attributes of every account, index-aligned arrays."""

    n: int
    account_id: np.ndarray
    name: np.ndarray
    brand: np.ndarray  # short name used in opportunity names
    domain: np.ndarray  # e-mail domain
    english: np.ndarray  # English-speaking (export) account
    industry: np.ndarray  # index into INDUSTRIES
    region: np.ndarray  # region name
    team: np.ndarray  # index of the team covering the region
    parent: np.ndarray  # index of the parent account, -1 = none
    owner: np.ndarray  # manager index, -1 = unassigned
    created_day: np.ndarray
    acquired_day: np.ndarray  # first day of run-rate business
    churn_day: np.ndarray  # last day of run-rate business + 1 (past horizon: never)
    is_prospect: np.ndarray
    churned: np.ndarray
    trend: np.ndarray  # index into TRENDS
    growth: np.ndarray  # yearly log growth of the purchase rate after the change point
    change_t: np.ndarray  # change point, years relative to end
    value: np.ndarray  # expected run-rate revenue per year at end (before churn)
    share: np.ndarray  # true share of wallet at end
    wallet: np.ndarray  # true yearly category spend
    revenue: np.ndarray  # the customer's own annual revenue
    big_small: np.ndarray  # big company, small customer
    size_rank: np.ndarray  # rank of value in (0, 1]
    key: np.ndarray  # key account (top by value, not churned)
    relationship: np.ndarray  # latent relationship strength, ~N(0, 1)
    deteriorating: np.ndarray  # service deteriorates from det_start_day
    det_start_day: np.ndarray
    line_mix: np.ndarray  # (n, lines) share of order lines per product line
    lines_per_order: np.ndarray  # mean order lines per order
    discount: np.ndarray  # discount off list price
    channel: np.ndarray  # main channel index into CHANNELS
    accounts: pd.DataFrame  # the canonical table


def draw_sales_force(rng: np.random.Generator, n_accounts: int) -> SalesForce:
    team_names = list(voc.TEAMS)
    shares = np.array([0.38, 0.22, 0.18, 0.16, 0.06])
    total = max(10, round(n_accounts / 60))
    per_team = np.maximum(2, np.round(shares * total).astype(int))
    people = _chinese_names(rng, int(per_team.sum()) + len(team_names) + 1)
    names = people[: per_team.sum()]
    heads = list(people[per_team.sum() : per_team.sum() + len(team_names)])
    return SalesForce(
        names=names,
        team=np.repeat(np.arange(len(team_names)), per_team),
        team_names=team_names,
        team_heads=heads,
        vp=str(people[-1]),
    )


def _chinese_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct Chinese personal names (surname + one or two given characters)."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        m = 2 * (n - len(out)) + 8
        sur = rng.integers(len(voc.SURNAMES), size=m)
        g1 = rng.integers(len(voc.GIVEN_CHARS), size=m)
        g2 = rng.integers(len(voc.GIVEN_CHARS), size=m)
        two = rng.random(m) < 0.6
        for s, a, b, t in zip(sur, g1, g2, two, strict=True):
            name = voc.SURNAMES[s][0] + voc.GIVEN_CHARS[a][0] + (voc.GIVEN_CHARS[b][0] if t else "")
            if name not in seen:
                seen.add(name)
                out.append(name)
                if len(out) == n:
                    break
    return np.array(out, dtype=object)


def draw_customers(rng: np.random.Generator, n: int, cal: Calendar, sales: SalesForce) -> Customers:
    """Draw ``n`` accounts: hidden economics, group structure and the ``accounts`` table."""
    ind_names = list(voc.INDUSTRIES)
    ind_share = [v[0] for v in voc.INDUSTRIES.values()]
    industry = choice_index(rng, ind_share, n)

    # -- geography ---------------------------------------------------------------------------
    english = rng.random(n) < 0.06
    dom_regions = list(voc.DOMESTIC_REGIONS)
    region_idx = choice_index(rng, [v[0] for v in voc.DOMESTIC_REGIONS.values()], n)
    region = np.array([dom_regions[i] for i in region_idx], dtype=object)
    city = np.empty(n, dtype=object)
    city_py = np.empty(n, dtype=object)
    country = np.full(n, voc.DOMESTIC_COUNTRY, dtype=object)
    for r, (_, cities) in voc.DOMESTIC_REGIONS.items():
        rows = np.flatnonzero(region == r)
        w = 1.0 / (1.0 + 0.18 * np.arange(len(cities)))
        pick = choice_index(rng, w, len(rows))
        city[rows] = [cities[i][0] for i in pick]
        city_py[rows] = [cities[i][1] for i in pick]
    exp_rows = np.flatnonzero(english)
    exp_names = list(voc.EXPORT_COUNTRIES)
    exp_pick = choice_index(rng, [v[0] for v in voc.EXPORT_COUNTRIES.values()], len(exp_rows))
    for row, c in zip(exp_rows, exp_pick, strict=True):
        cities = voc.EXPORT_COUNTRIES[exp_names[c]][1]
        country[row] = exp_names[c]
        city[row] = cities[int(rng.integers(len(cities)))]
        region[row] = voc.EXPORT_REGION
    region_team = {r: t for t, regions in enumerate(voc.TEAMS.values()) for r in regions}
    team = np.array([region_team[r] for r in region])

    # -- group hierarchy ---------------------------------------------------------------------
    parent = np.full(n, -1)
    domestic = np.flatnonzero(~english)
    n_groups = max(3, round(0.025 * n))
    groups = rng.choice(domestic, size=n_groups, replace=False)
    others = np.setdiff1d(np.arange(n), groups)
    children = rng.choice(others, size=max(10, round(0.09 * n)), replace=False)
    group_w = 1.0 / np.sqrt(1.0 + np.arange(n_groups))
    parent[children] = groups[choice_index(rng, group_w, len(children))]
    same_industry = rng.random(len(children)) < 0.7
    industry[children[same_industry]] = industry[parent[children[same_industry]]]
    biggest = groups[np.argmax([np.sum(parent == g) for g in groups])]
    for g in groups:  # a regional holding between group and plant in some groups
        kids = np.flatnonzero(parent == g)
        if len(kids) >= 3 and (rng.random() < 0.4 or g == biggest):
            middle = kids[0]
            moved = kids[1 : 1 + int(rng.integers(1, min(3, len(kids) - 1) + 1))]
            parent[moved] = middle
    in_group = (parent >= 0) | np.isin(np.arange(n), groups)
    top = _top_parent(parent)

    # -- who buys, since when, until when, how the business moves -------------------------------
    is_prospect = (rng.random(n) < 0.055) & ~in_group
    value = MEDIAN_VALUE * np.exp(rng.normal(0.0, VALUE_SIGMA, n))
    value[in_group] *= 1.8
    value[groups] *= 1.6
    value[is_prospect] = 0.0
    customer = ~is_prospect

    candidates = np.flatnonzero(customer & ~in_group & ~english)
    n_bs = max(6, round(0.03 * n))
    big_small = np.zeros(n, dtype=bool)
    big_small[rng.choice(candidates, size=n_bs, replace=False)] = True

    new = customer & ~np.isin(np.arange(n), groups) & (rng.random(n) < 0.18)
    acquired = np.full(n, cal.start - 1, dtype=np.int64)
    acquired[new] = rng.integers(cal.start + 30, cal.end - 45, size=new.sum())
    acquired[is_prospect] = cal.horizon + 1
    churn_pool = customer & ~new & ~big_small & ~np.isin(np.arange(n), groups)
    churned = churn_pool & (rng.random(n) < 0.045)
    churn_day = np.full(n, cal.horizon + 1, dtype=np.int64)
    churn_day[churned] = rng.integers(cal.start + 550, cal.end - 40, size=churned.sum())

    trend = np.where(
        new,
        choice_index(rng, [0.55, 0.35, 0.10], n),
        choice_index(rng, [0.24, 0.51, 0.25], n),
    )
    trend[churned] = 2
    trend[is_prospect] = 1
    growth = np.select(
        [trend == 0, trend == 1],
        [rng.uniform(0.12, 0.40, n), rng.normal(0.0, 0.03, n)],
        -rng.uniform(0.12, 0.45, n),
    )
    growth[churned] = -rng.uniform(0.2, 0.5, churned.sum())
    growth[is_prospect] = 0.0
    change_t = rng.uniform(-3.5, -0.6, n)
    ramp = new & (trend == 0)
    change_t[ramp] = cal.years_to_end(acquired[ramp])
    churn_t = cal.years_to_end(churn_day[churned])
    change_t[churned] = churn_t - rng.uniform(0.3, 1.5, churned.sum())

    # -- wallet, share of wallet, the customer's own size ---------------------------------------
    share = 0.02 + 0.72 * rng.beta(1.15, 2.5, n)
    intensity = np.array([v[1] for v in voc.INDUSTRIES.values()])[industry]
    prospect_value = MEDIAN_VALUE * np.exp(rng.normal(0.3, VALUE_SIGMA, n))
    wallet = np.where(is_prospect, prospect_value / 0.25, PROJECT_UPLIFT * value / share)
    revenue = wallet / intensity * np.exp(rng.normal(0.0, 0.4, n))
    rows = np.flatnonzero(big_small)
    lo, hi = np.quantile(revenue, [0.93, 0.995])
    revenue[rows] = np.exp(rng.uniform(np.log(lo), np.log(hi), len(rows)))
    wallet[rows] = revenue[rows] * intensity[rows] * np.exp(rng.normal(0.0, 0.2, len(rows)))
    v_lo, v_hi = np.quantile(value[customer], [0.10, 0.40])
    value[rows] = np.exp(rng.uniform(np.log(v_lo), np.log(v_hi), len(rows)))
    share = np.where(is_prospect, 0.0, PROJECT_UPLIFT * value / wallet)
    for g in groups:  # the group's consolidated revenue exceeds its members'
        members = np.flatnonzero(top == g)
        revenue[g] = max(revenue[g], revenue[members].sum() * rng.uniform(1.1, 1.6))

    # -- value at the end (zero when churned) and derived ranks ---------------------------------
    size_rank = rank01(value + 1e-3 * rank01(wallet))
    key = customer & ~churned & (size_rank > 0.88)
    z_share = (np.log(np.maximum(share, 1e-3)) - np.log(0.25)) / 0.8
    relationship = (
        0.45 * z_share + 0.35 * (trend == 0) - 0.45 * (trend == 2) + rng.normal(0.0, 0.8, n)
    )
    deteriorating = np.zeros(n, dtype=bool)
    det_start = np.full(n, cal.horizon + 1, dtype=np.int64)
    churn_rows = np.flatnonzero(churned & (rng.random(n) < 0.8))
    deteriorating[churn_rows] = True
    det_start[churn_rows] = churn_day[churn_rows] - rng.integers(120, 300, len(churn_rows))
    active_slipping = np.flatnonzero(customer & ~churned & (trend == 2) & ~big_small)
    n_det = min(len(active_slipping), max(3, round(0.02 * n)))
    rows = rng.choice(active_slipping, size=n_det, replace=False)
    deteriorating[rows] = True
    det_start[rows] = cal.end - rng.integers(120, 270, n_det)
    relationship[deteriorating] -= 0.8

    # -- buying behaviour -----------------------------------------------------------------------
    affinity = np.array([v[4] for v in voc.INDUSTRIES.values()])[industry]
    mix = rng.gamma(0.9 * affinity * GLOBAL_LINE_WEIGHT * 6, 1.0)
    keep = rng.random(mix.shape) < (0.3 + 0.6 * size_rank)[:, None]
    keep[np.arange(n), mix.argmax(axis=1)] = True
    mix = np.where(keep, mix, 0.0)
    mix /= mix.sum(axis=1, keepdims=True)
    lines_per_order = 1.4 + 2.6 * size_rank
    discount = np.clip(0.04 + 0.22 * size_rank**1.5 + rng.normal(0, 0.02, n), 0.0, 0.28)
    channel = np.where(
        size_rank > 0.7,
        choice_index(rng, [0.8, 0.1, 0.1, 0.0], n),
        choice_index(rng, [0.07, 0.53, 0.30, 0.10], n),
    )
    channel[english] = np.where(rng.random(english.sum()) < 0.4, 0, 1)

    # -- what the CRM shows -------------------------------------------------------------------------
    brand, brand_py, name = _company_names(
        rng, industry, city, city_py, country, english, parent, top, groups, revenue, ind_names
    )
    domain = np.array(
        [f"{b}.com" if e else f"{b}-{c}.com" for b, c, e in zip(brand_py, city_py, english, strict=True)],
        dtype=object,
    )  # fmt: skip
    owner = np.empty(n, dtype=np.int64)
    for t in range(len(sales.team_names)):
        rows = np.flatnonzero(team == t)
        owner[rows] = rng.choice(np.flatnonzero(sales.team == t), size=len(rows))
    follow = (parent >= 0) & (rng.random(n) < 0.6)
    owner[follow] = owner[top[follow]]
    owner[is_prospect & (rng.random(n) < 0.3)] = -1

    created = cal.start - rng.integers(30, 3000, n)
    created[new] = acquired[new] - rng.integers(0, 300, new.sum())
    created[is_prospect] = rng.integers(cal.start - 700, cal.end - 20, is_prospect.sum())
    created = np.minimum(created, cal.end)

    employees = revenue / (1.1e6 * np.exp(rng.normal(0.0, 0.4, n)))
    step = 10.0 ** np.clip(np.floor(np.log10(np.maximum(employees, 1.0))) - 1, 0, 3)
    employees = np.maximum(12, np.round(employees / step) * step)
    reg_capital = np.round(revenue * 0.12 * np.exp(rng.normal(0, 0.6, n)), -4)
    listed = (revenue > 2e9) & (rng.random(n) < 0.45)
    ownership = choice_index(rng, [0.08, 0.62, 0.10, 0.07, 0.0, 0.03, 0.10], n)
    ownership[listed] = OWNERSHIP.index("listed")
    ownership[english & (rng.random(n) < 0.5)] = OWNERSHIP.index("foreign")
    fit_bonus = np.array([v[4] for v in voc.INDUSTRIES.values()]).mean(axis=1)[industry]
    fit = np.clip(
        np.round(1.5 + 1.4 * fit_bonus + 0.6 * relationship + rng.normal(0, 0.7, n)), 1, 5
    )
    spend_est = np.round(wallet * np.exp(rng.normal(0.0, 0.2, n)), -4)

    missing = rng.random((4, n)) < np.array([[0.03], [0.04], [0.06], [0.05]])
    missing[:, big_small] = False
    account_id = np.array([f"A{i:06d}" for i in rng.permutation(n) + 100_001], dtype=object)
    accounts = canonical_frame(
        "accounts",
        {
            "account_id": account_id,
            "name": name,
            "industry": take_text(ind_names, industry),
            "sub_industry": [
                voc.INDUSTRIES[ind_names[i]][2][int(j) % len(voc.INDUSTRIES[ind_names[i]][2])]
                for i, j in zip(industry, rng.integers(0, 60, n), strict=True)
            ],
            "region": region,
            "country": country,
            "city": city,
            "employees": np.where(missing[0], np.nan, employees),
            "annual_revenue": np.where(missing[1], np.nan, np.round(revenue, -4)),
            "registered_capital": np.where(missing[2], np.nan, np.maximum(reg_capital, 1e5)),
            "ownership": take_text(OWNERSHIP, ownership),
            "parent_account_id": np.where(parent >= 0, account_id[np.maximum(parent, 0)], None),
            "owner": take_text(sales.names, owner),
            "created_date": dates(created),
            "category_spend": np.where(missing[3], np.nan, np.maximum(spend_est, 1e4)),
            "strategic_fit": fit,
        },
    )
    return Customers(
        n=n, account_id=account_id, name=name, brand=brand, domain=domain, english=english,
        industry=industry, region=region, team=team, parent=parent, owner=owner,
        created_day=created, acquired_day=acquired, churn_day=churn_day,
        is_prospect=is_prospect, churned=churned, trend=trend, growth=growth,
        change_t=change_t, value=value, share=share, wallet=wallet, revenue=revenue,
        big_small=big_small, size_rank=size_rank, key=key, relationship=relationship,
        deteriorating=deteriorating, det_start_day=det_start, line_mix=mix,
        lines_per_order=lines_per_order, discount=discount, channel=channel,
        accounts=accounts,
    )  # fmt: skip


def _top_parent(parent: np.ndarray) -> np.ndarray:
    """The top of each account's group (itself when it has no parent)."""
    top = np.where(parent >= 0, parent, np.arange(len(parent)))
    for _ in range(8):  # hierarchies are at most three deep
        up = parent[top]
        top = np.where(up >= 0, up, top)
    return top


def _company_names(
    rng: np.random.Generator,
    industry: np.ndarray,
    city: np.ndarray,
    city_py: np.ndarray,
    country: np.ndarray,
    english: np.ndarray,
    parent: np.ndarray,
    top: np.ndarray,
    groups: np.ndarray,
    revenue: np.ndarray,
    ind_names: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brand, brand pinyin (for e-mail domains) and unique legal names."""
    n = len(industry)
    brand = np.empty(n, dtype=object)
    brand_py = np.empty(n, dtype=object)
    name = np.empty(n, dtype=object)
    is_group = np.isin(np.arange(n), groups)
    foreign_invested = ~english & (rng.random(n) < 0.05)
    seen: set[str] = set()
    draws = rng.integers(0, 1 << 30, size=(n, 8))
    order = np.argsort(~is_group, kind="stable")  # groups first: members take their brand
    for i in order:
        d = draws[i]
        words = voc.INDUSTRIES[ind_names[industry[i]]][3]
        for attempt in range(40):
            k = (d + attempt * 7919) % (1 << 30)
            if english[i] or foreign_invested[i]:
                pool = voc.BRAND_EN if english[i] else voc.FOREIGN_BRANDS
                b = pool[k[0] % len(pool)]
                word = voc.INDUSTRY_WORDS_EN[ind_names[industry[i]]][
                    k[1] % len(voc.INDUSTRY_WORDS_EN[ind_names[industry[i]]])
                ]
                if english[i]:
                    suffix = voc.EXPORT_COUNTRIES[country[i]][2]
                    label = f"{suffix} {b} {word}" if suffix == "PT" else f"{b} {word} {suffix}"
                else:
                    label = f"{b} {word} ({str(city_py[i]).title()}) Co., Ltd."
                py = b.lower().replace(" ", "").replace("-", "")
            else:
                if parent[i] >= 0 and k[2] % 10 < 7:
                    b, py = brand[top[i]], brand_py[top[i]]
                else:
                    f = voc.BRAND_FIRST[k[0] % len(voc.BRAND_FIRST)]
                    s = voc.BRAND_SECOND[k[1] % len(voc.BRAND_SECOND)]
                    if f[0] == s[0]:
                        continue
                    b, py = f[0] + s[0], f[1] + s[1]
                word = words[k[3] % len(words)]
                if is_group[i]:
                    label = b + voc.GROUP_SUFFIXES[k[4] % len(voc.GROUP_SUFFIXES)]
                else:
                    suffix = (
                        voc.SUFFIX_SHARES
                        if revenue[i] > 1.5e9 and k[5] % 3 == 0
                        else voc.SUFFIX_LIMITED
                    )
                    style = k[6] % 10
                    if style < 6:
                        label = f"{city[i]}{b}{word}{suffix}"
                    elif style < 8:
                        label = f"{b}{word}{suffix}"
                    else:
                        label = f"{b}({city[i]}){word}{suffix}"
            if attempt > 30:
                label = f"{label[:-4]}{['一', '二', '三', '四', '五'][attempt % 5]}厂{label[-4:]}"
            if label not in seen:
                break
        seen.add(label)
        brand[i], brand_py[i], name[i] = b, py, label
    return brand, brand_py, name


def products_frame() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The ``products`` table, plus per product: line index, list price, popularity."""
    rows = voc.product_catalogue()
    line = np.array([LINES.index(r[2]) for r in rows])
    price = np.array([r[4] for r in rows], dtype=float).round(-1)
    popularity = np.array([r[5] for r in rows], dtype=float)
    frame = canonical_frame(
        "products",
        {
            "product_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "product_line": [r[2] for r in rows],
            "series": [r[3] for r in rows],
            "list_price": price,
        },
    )
    return frame, line, price, popularity


@dataclass
class Contacts:
    """Decision makers, index-aligned arrays plus the ``contacts`` frame (dates added later)."""

    account: np.ndarray  # account index
    role: np.ndarray  # index into BUYING_ROLES
    support: np.ndarray
    contact_id: np.ndarray
    columns: dict[str, object]


def draw_contacts(rng: np.random.Generator, cust: Customers) -> Contacts:
    """Contacts per account (more for bigger accounts); some key accounts lack an economic buyer."""
    roles = list(voc.CONTACT_ROLES)
    n_per = 1 + rng.poisson(0.6 + 6.0 * cust.size_rank**2.2)
    n_per[cust.is_prospect] = 1 + rng.poisson(0.8, cust.is_prospect.sum())
    n_per[cust.key] += 2
    account = np.repeat(np.arange(cust.n), n_per)
    m = len(account)
    role = choice_index(rng, [v[0] for v in voc.CONTACT_ROLES.values()], m)
    # bigger accounts: the first contact of a key account is an economic buyer, unless unknown
    first = np.r_[0, np.cumsum(n_per)[:-1]]
    role[first[cust.size_rank > 0.6]] = 0
    no_economic = cust.key & (rng.random(cust.n) < 0.25)
    blank = no_economic[account] & (role == 0)
    role[blank] = rng.choice([1, 2, 4], size=blank.sum())
    lo = np.array([v[2][0] for v in voc.CONTACT_ROLES.values()])[role]
    hi = np.array([v[2][1] for v in voc.CONTACT_ROLES.values()])[role]
    influence = lo + np.floor(rng.random(m) * (hi - lo + 1))
    role_bias = np.array([0.0, 0.2, 0.1, 1.3, -0.3, 0.0])[role]
    support = np.clip(
        np.round(0.7 * cust.relationship[account] + role_bias + rng.normal(0.2, 0.8, m)), -2, 2
    )
    trouble = (cust.trend[account] == 2) | cust.deteriorating[account]
    reaction = np.where(
        trouble,
        choice_index(rng, [0.15, 0.45, 0.25, 0.15], m),
        choice_index(rng, [0.38, 0.15, 0.37, 0.10], m),
    )
    title = np.empty(m, dtype=object)
    department = np.empty(m, dtype=object)
    for r, (_, options, _) in enumerate(voc.CONTACT_ROLES.values()):
        rows = np.flatnonzero(role == r)
        pick = rng.integers(len(options), size=len(rows))
        title[rows] = [options[p][0] for p in pick]
        department[rows] = [options[p][1] for p in pick]
    name, email = _contact_names(rng, account, cust)
    english = cust.english[account]
    title[english] = np.array(
        ["General Manager", "Technical Manager", "Production Manager", "Project Engineer",
         "Purchasing Manager", "Quality Manager"], dtype=object)[role[english]]  # fmt: skip
    mobile = rng.integers(130_0000_0000, 199_9999_9999, m)
    phone = np.array([f"+86 {p // 10**8} {p // 10**4 % 10**4:04d} {p % 10**4:04d}" for p in mobile])
    phone = np.where(english | (rng.random(m) < 0.12), None, phone)
    challenges = np.array(voc.BUSINESS_CHALLENGES, dtype=object)
    c1 = rng.integers(len(challenges), size=m)
    c2 = (c1 + 1 + rng.integers(len(challenges) - 1, size=m)) % len(challenges)
    text = np.where(rng.random(m) < 0.5, challenges[c1], challenges[c1] + "；" + challenges[c2])
    text = np.where(rng.random(m) < 0.35, None, text)
    contact_id = np.array([f"C{i:07d}" for i in range(1_000_001, 1_000_001 + m)], dtype=object)
    columns = {
        "contact_id": contact_id,
        "account_id": cust.account_id[account],
        "name": name,
        "title": title,
        "department": department,
        "buying_role": take_text(roles, role),
        "influence": influence,
        "support": np.where(rng.random(m) < 0.08, np.nan, support),
        "reaction_mode": take_text(
            ["growth", "trouble", "even_keel", "overconfident"],
            np.where(rng.random(m) < 0.15, -1, reaction),
        ),
        "business_challenges": text,
        "email": np.where(rng.random(m) < 0.1, None, email),
        "phone": phone,
    }
    return Contacts(
        account=account, role=role, support=support, contact_id=contact_id, columns=columns
    )


def _contact_names(
    rng: np.random.Generator, account: np.ndarray, cust: Customers
) -> tuple[np.ndarray, np.ndarray]:
    m = len(account)
    sur = rng.integers(len(voc.SURNAMES), size=m)
    g1 = rng.integers(len(voc.GIVEN_CHARS), size=m)
    g2 = rng.integers(len(voc.GIVEN_CHARS), size=m)
    two = rng.random(m) < 0.6
    en_first = rng.integers(len(voc.FIRST_NAMES_EN), size=m)
    en_last = rng.integers(len(voc.LAST_NAMES_EN), size=m)
    names = np.empty(m, dtype=object)
    emails = np.empty(m, dtype=object)
    for i in range(m):
        a = account[i]
        if cust.english[a]:
            first, last = voc.FIRST_NAMES_EN[en_first[i]], voc.LAST_NAMES_EN[en_last[i]]
            names[i] = f"{first} {last}"
            local = f"{first}.{last}".lower()
        else:
            s, c1, c2 = voc.SURNAMES[sur[i]], voc.GIVEN_CHARS[g1[i]], voc.GIVEN_CHARS[g2[i]]
            names[i] = s[0] + c1[0] + (c2[0] if two[i] else "")
            local = f"{c1[1]}{c2[1] if two[i] else ''}.{s[1]}"
        emails[i] = f"{local}{'' if i % 3 else i % 97}@{cust.domain[a]}"
    return names, emails


def contacts_frame(contacts: Contacts, last_contact_day: np.ndarray) -> pd.DataFrame:
    cols = dict(contacts.columns)
    cols["last_contact_date"] = dates(last_contact_day)
    return canonical_frame("contacts", cols)


def seconds_of(days: np.ndarray, secs: np.ndarray) -> np.ndarray:
    """Day number + seconds into that day → second number (``NAT`` stays ``NAT``)."""
    out = days.astype(np.int64) * 86_400 + secs
    return np.where(days == NAT, NAT, out)


def revise_category_spend(
    rng: np.random.Generator, cust: Customers, trailing_revenue: np.ndarray
) -> pd.DataFrame:
    """Raise wallet estimates that lie below what the customer bought from us last year.

    An account team that sells more than the estimated wallet revises the estimate, so
    the visible share of wallet stays below 100%.
    """
    spend = cust.accounts["category_spend"].to_numpy(dtype=float)
    floor = np.ceil(trailing_revenue * rng.uniform(1.1, 1.6, cust.n) / 1e4) * 1e4
    low = ~np.isnan(spend) & (spend < 1.05 * trailing_revenue)
    return cust.accounts.assign(category_spend=np.where(low, floor, spend))
