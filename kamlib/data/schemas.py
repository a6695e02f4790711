"""The canonical tables (DATA_MODEL.md) as pandera ``DataFrameModel``s.

These classes are the single contract between import, analysis and reports.  The import
engine translates them into SQL checks (so 10M order lines are validated inside DuckDB),
``KamData.validate()`` runs them with pandera, and every loaded frame carries exactly the
columns listed here, optional ones included (all-null when the source did not have them).

Column kinds: text (``str``), whole numbers (``Int64``), amounts (``float64``), dates and
timestamps (``datetime64``), flags (``boolean``).  ``*`` columns of DATA_MODEL.md are
``nullable=False`` here; every other column is optional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

OWNERSHIP = ["state", "private", "foreign", "jv", "listed", "collective", "other"]
BUYING_ROLES = ["economic", "technical", "user", "coach", "gatekeeper", "other"]
REACTION_MODES = ["growth", "trouble", "even_keel", "overconfident"]
OPPORTUNITY_STATUS = ["open", "won", "lost"]
ACTIVITY_TYPES = ["visit", "call", "meeting", "joint_business_meeting", "qbr", "email", "other"]
PRIORITIES = ["p1", "p2", "p3", "p4"]
PLAN_STATUS = ["open", "done", "dropped"]
TARGET_LEVELS = ["company", "team", "manager", "account"]
TASK_STATUS = ["open", "done", "skipped"]
#: ``lost_to`` of a deal the customer did not award to anyone (budget cut, cancelled, no decision)
NO_DECISION = "no decision"

_OPT = {"nullable": True}


class Accounts(pa.DataFrameModel):
    """Customers, with their group hierarchy and static indicators."""

    account_id: Series[str] = pa.Field(nullable=False, unique=True)
    name: Series[str] = pa.Field(nullable=False)
    industry: Series[str] = pa.Field(**_OPT)
    sub_industry: Series[str] = pa.Field(**_OPT)
    region: Series[str] = pa.Field(**_OPT)
    country: Series[str] = pa.Field(**_OPT)
    city: Series[str] = pa.Field(**_OPT)
    employees: Series[pd.Int64Dtype] = pa.Field(ge=0, **_OPT)
    annual_revenue: Series[float] = pa.Field(ge=0, **_OPT)
    registered_capital: Series[float] = pa.Field(ge=0, **_OPT)
    ownership: Series[str] = pa.Field(isin=OWNERSHIP, **_OPT)
    parent_account_id: Series[str] = pa.Field(**_OPT)
    owner: Series[str] = pa.Field(**_OPT)
    created_date: Series[pa.DateTime] = pa.Field(**_OPT)
    category_spend: Series[float] = pa.Field(ge=0, **_OPT)
    strategic_fit: Series[pd.Int64Dtype] = pa.Field(ge=1, le=5, **_OPT)
    # company registry identifiers, when the CRM keeps them: the unified social credit code
    # (统一社会信用代码, 18 characters, GB 32100-2015) and the D-U-N-S number (9 digits)
    uscc: Series[str] = pa.Field(**_OPT)
    duns: Series[str] = pa.Field(**_OPT)
    province: Series[str] = pa.Field(**_OPT)


class Products(pa.DataFrameModel):
    """What we sell, grouped into product lines."""

    product_id: Series[str] = pa.Field(nullable=False, unique=True)
    name: Series[str] = pa.Field(**_OPT)
    product_line: Series[str] = pa.Field(nullable=False)
    series: Series[str] = pa.Field(**_OPT)
    list_price: Series[float] = pa.Field(ge=0, **_OPT)


class Orders(pa.DataFrameModel):
    """Order lines: the ground truth of what customers bought.

    ``amount`` is net and may be negative (returns, credit notes); the import report
    counts such lines.
    """

    order_id: Series[str] = pa.Field(nullable=False)
    line_no: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=0)
    account_id: Series[str] = pa.Field(nullable=False)
    order_date: Series[pa.DateTime] = pa.Field(nullable=False)
    product_id: Series[str] = pa.Field(**_OPT)
    product_line: Series[str] = pa.Field(**_OPT)
    quantity: Series[float] = pa.Field(**_OPT)
    amount: Series[float] = pa.Field(nullable=False)
    cost: Series[float] = pa.Field(**_OPT)
    business_unit: Series[str] = pa.Field(**_OPT)
    region: Series[str] = pa.Field(**_OPT)
    channel: Series[str] = pa.Field(**_OPT)


class Opportunities(pa.DataFrameModel):
    """Opportunities in their current state."""

    opportunity_id: Series[str] = pa.Field(nullable=False, unique=True)
    account_id: Series[str] = pa.Field(**_OPT)
    name: Series[str] = pa.Field(**_OPT)
    product_line: Series[str] = pa.Field(**_OPT)
    amount: Series[float] = pa.Field(ge=0, **_OPT)
    owner: Series[str] = pa.Field(**_OPT)
    team: Series[str] = pa.Field(**_OPT)
    created_date: Series[pa.DateTime] = pa.Field(nullable=False)
    expected_close_date: Series[pa.DateTime] = pa.Field(**_OPT)
    stage: Series[str] = pa.Field(nullable=False)
    status: Series[str] = pa.Field(nullable=False, isin=OPPORTUNITY_STATUS)
    closed_date: Series[pa.DateTime] = pa.Field(**_OPT)
    lost_reason: Series[str] = pa.Field(**_OPT)
    competitor: Series[str] = pa.Field(**_OPT)
    source: Series[str] = pa.Field(**_OPT)
    # the sales process (a process key of the methodology's playbooks: tender, framework …)
    sales_process: Series[str] = pa.Field(**_OPT)
    # lost deals: the competitor that won, or "no decision" (NO_DECISION)
    lost_to: Series[str] = pa.Field(**_OPT)


class StageHistory(pa.DataFrameModel):
    """One row per stage entry (and per amount / close-date change where known)."""

    opportunity_id: Series[str] = pa.Field(nullable=False)
    stage: Series[str] = pa.Field(nullable=False)
    entered_at: Series[pa.DateTime] = pa.Field(nullable=False)
    amount: Series[float] = pa.Field(ge=0, **_OPT)
    expected_close_date: Series[pa.DateTime] = pa.Field(**_OPT)


class Contacts(pa.DataFrameModel):
    """Decision-maker profiles (权力地图)."""

    contact_id: Series[str] = pa.Field(nullable=False, unique=True)
    account_id: Series[str] = pa.Field(nullable=False)
    name: Series[str] = pa.Field(**_OPT)
    title: Series[str] = pa.Field(**_OPT)
    department: Series[str] = pa.Field(**_OPT)
    buying_role: Series[str] = pa.Field(isin=BUYING_ROLES, **_OPT)
    influence: Series[pd.Int64Dtype] = pa.Field(ge=1, le=5, **_OPT)
    support: Series[pd.Int64Dtype] = pa.Field(ge=-2, le=2, **_OPT)
    reaction_mode: Series[str] = pa.Field(isin=REACTION_MODES, **_OPT)
    business_challenges: Series[str] = pa.Field(**_OPT)
    email: Series[str] = pa.Field(**_OPT)
    phone: Series[str] = pa.Field(**_OPT)
    last_contact_date: Series[pa.DateTime] = pa.Field(**_OPT)


class OpportunityContacts(pa.DataFrameModel):
    """Who matters on which deal."""

    opportunity_id: Series[str] = pa.Field(nullable=False)
    contact_id: Series[str] = pa.Field(nullable=False)
    role: Series[str] = pa.Field(**_OPT)


class Activities(pa.DataFrameModel):
    """Visits, calls, meetings, joint business meetings."""

    activity_id: Series[str] = pa.Field(nullable=False, unique=True)
    account_id: Series[str] = pa.Field(nullable=False)
    contact_id: Series[str] = pa.Field(**_OPT)
    opportunity_id: Series[str] = pa.Field(**_OPT)
    type: Series[str] = pa.Field(isin=ACTIVITY_TYPES, **_OPT)
    date: Series[pa.DateTime] = pa.Field(nullable=False)
    owner: Series[str] = pa.Field(**_OPT)
    notes: Series[str] = pa.Field(**_OPT)


class ServiceTickets(pa.DataFrameModel):
    """Service requests: responsiveness and escalations."""

    ticket_id: Series[str] = pa.Field(nullable=False, unique=True)
    account_id: Series[str] = pa.Field(nullable=False)
    opened_at: Series[pa.DateTime] = pa.Field(nullable=False)
    first_response_at: Series[pa.DateTime] = pa.Field(**_OPT)
    resolved_at: Series[pa.DateTime] = pa.Field(**_OPT)
    priority: Series[str] = pa.Field(isin=PRIORITIES, **_OPT)
    category: Series[str] = pa.Field(**_OPT)
    department: Series[str] = pa.Field(**_OPT)
    region: Series[str] = pa.Field(**_OPT)
    escalated: Series[pd.BooleanDtype] = pa.Field(**_OPT)
    status: Series[str] = pa.Field(**_OPT)
    sla_response_hours: Series[float] = pa.Field(ge=0, **_OPT)
    sla_resolution_hours: Series[float] = pa.Field(ge=0, **_OPT)
    satisfaction: Series[pd.Int64Dtype] = pa.Field(ge=1, le=5, **_OPT)


class Targets(pa.DataFrameModel):
    """OGSM targets, cascaded company → team → manager → account."""

    target_id: Series[str] = pa.Field(nullable=False, unique=True)
    parent_id: Series[str] = pa.Field(**_OPT)
    level: Series[str] = pa.Field(isin=TARGET_LEVELS, **_OPT)
    owner: Series[str] = pa.Field(**_OPT)
    team: Series[str] = pa.Field(**_OPT)
    account_id: Series[str] = pa.Field(**_OPT)
    period: Series[str] = pa.Field(nullable=False)
    objective: Series[str] = pa.Field(**_OPT)
    measure: Series[str] = pa.Field(nullable=False)
    target_value: Series[float] = pa.Field(nullable=False)


class PlanItems(pa.DataFrameModel):
    """Customer success plans and action plans."""

    item_id: Series[str] = pa.Field(nullable=False, unique=True)
    account_id: Series[str] = pa.Field(nullable=False)
    target_id: Series[str] = pa.Field(**_OPT)
    title: Series[str] = pa.Field(nullable=False)
    owner: Series[str] = pa.Field(**_OPT)
    due_date: Series[pa.DateTime] = pa.Field(**_OPT)
    status: Series[str] = pa.Field(isin=PLAN_STATUS, **_OPT)
    kind: Series[str] = pa.Field(**_OPT)


class Tasks(pa.DataFrameModel):
    """The stage playbook's tasks and resources as done on each deal.

    ``task`` is a code of the methodology's playbooks (the import quarantines any other);
    ``done_date`` is when it was done (a timestamp, compared with the stage history's
    ``entered_at``: done before the deal left the stage or not).
    """

    task_id: Series[str] = pa.Field(nullable=False, unique=True)
    opportunity_id: Series[str] = pa.Field(nullable=False)
    stage: Series[str] = pa.Field(**_OPT)
    task: Series[str] = pa.Field(nullable=False)
    owner: Series[str] = pa.Field(**_OPT)
    created_date: Series[pa.DateTime] = pa.Field(**_OPT)
    due_date: Series[pa.DateTime] = pa.Field(**_OPT)
    done_date: Series[pa.DateTime] = pa.Field(**_OPT)
    status: Series[str] = pa.Field(isin=TASK_STATUS, **_OPT)


class OpportunityCompetitors(pa.DataFrameModel):
    """Who we met on each deal; ``primary`` marks the main competitor, prices where known."""

    opportunity_id: Series[str] = pa.Field(nullable=False)
    competitor: Series[str] = pa.Field(nullable=False)
    primary: Series[pd.BooleanDtype] = pa.Field(**_OPT)
    our_price: Series[float] = pa.Field(ge=0, **_OPT)
    competitor_price: Series[float] = pa.Field(ge=0, **_OPT)
    notes: Series[str] = pa.Field(**_OPT)


ID_SCHEMES = ["uscc", "duns", "other"]
COMPANY_EVENT_TYPES = [
    "name_change",
    "capital_change",
    "legal_representative_change",
    "penalty",
    "enforcement",
    "abnormal_operation",
    "dishonest_debtor",
    "other",
]


class Firmographics(pa.DataFrameModel):
    """Company registry data (天眼查 / 企查查 exports, D&B) matched to accounts.

    One row per account, source and retrieval: a later retrieval adds rows, it does not
    overwrite the earlier ones (the registry's history is itself a record).  Capital is the
    amount in its own currency (``reg_capital_currency``: CNY, USD …; "77800.32万人民币" is
    778,003,200 CNY).  ``match_confidence`` (0–1) and ``match_method`` (uscc, duns, name,
    override …) say how the record was tied to the account.
    """

    account_id: Series[str] = pa.Field(nullable=False)
    source: Series[str] = pa.Field(nullable=False)
    retrieved_at: Series[pa.DateTime] = pa.Field(nullable=False)
    id_scheme: Series[str] = pa.Field(isin=ID_SCHEMES, **_OPT)
    company_id: Series[str] = pa.Field(**_OPT)
    legal_name: Series[str] = pa.Field(**_OPT)
    former_names: Series[str] = pa.Field(**_OPT)
    english_name: Series[str] = pa.Field(**_OPT)
    reg_status: Series[str] = pa.Field(**_OPT)
    legal_representative: Series[str] = pa.Field(**_OPT)
    company_type: Series[str] = pa.Field(**_OPT)
    established: Series[pa.DateTime] = pa.Field(**_OPT)
    reg_capital: Series[float] = pa.Field(ge=0, **_OPT)
    reg_capital_currency: Series[str] = pa.Field(**_OPT)
    paid_in_capital: Series[float] = pa.Field(ge=0, **_OPT)
    paid_in_capital_currency: Series[str] = pa.Field(**_OPT)
    headcount_band: Series[str] = pa.Field(**_OPT)
    insured_headcount: Series[pd.Int64Dtype] = pa.Field(ge=0, **_OPT)
    industry_code: Series[str] = pa.Field(**_OPT)
    industry_scheme: Series[str] = pa.Field(**_OPT)
    industry: Series[str] = pa.Field(**_OPT)
    listed: Series[pd.BooleanDtype] = pa.Field(**_OPT)
    parent_company_id: Series[str] = pa.Field(**_OPT)
    province: Series[str] = pa.Field(**_OPT)
    city: Series[str] = pa.Field(**_OPT)
    district: Series[str] = pa.Field(**_OPT)
    address: Series[str] = pa.Field(**_OPT)
    match_confidence: Series[float] = pa.Field(ge=0, le=1, **_OPT)
    match_method: Series[str] = pa.Field(**_OPT)


class CompanyEvents(pa.DataFrameModel):
    """Risk and change events from the registry (name, capital, legal-representative change,
    penalty, enforcement, abnormal operation, dishonest debtor), tied to the account the
    company was matched to."""

    event_id: Series[str] = pa.Field(nullable=False, unique=True)
    company_id: Series[str] = pa.Field(nullable=False)
    date: Series[pa.DateTime] = pa.Field(nullable=False)
    type: Series[str] = pa.Field(nullable=False, isin=COMPANY_EVENT_TYPES)
    account_id: Series[str] = pa.Field(**_OPT)
    before: Series[str] = pa.Field(**_OPT)
    after: Series[str] = pa.Field(**_OPT)
    source: Series[str] = pa.Field(**_OPT)
    retrieved_at: Series[pa.DateTime] = pa.Field(**_OPT)


@dataclass(frozen=True)
class ForeignKey:
    """``column`` must name a row of ``table`` (by its key ``ref``) when it is not null."""

    column: str
    table: str
    ref: str


@dataclass(frozen=True)
class TableSpec:
    """Everything kamlib knows about one canonical table beyond its columns."""

    name: str
    model: type[pa.DataFrameModel]
    key: tuple[str, ...]
    required: bool = False
    foreign_keys: tuple[ForeignKey, ...] = ()
    # the date that says when a row became known: rows after `as_of` are hidden
    as_of_column: str | None = None
    # columns (dates / timestamps) that may not lie in the future at import time
    past_columns: tuple[str, ...] = ()
    # amounts whose negative values are allowed but counted in the import report
    flag_negative: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = field(default=())

    @cached_property
    def columns(self) -> dict[str, str]:
        """Canonical column name → kind (text, integer, number, date, timestamp, flag)."""
        return {
            name: "date" if name in DATE_COLUMNS and kind == "timestamp" else kind
            for name, col in self.model.to_schema().columns.items()
            for kind in (_kind(col.dtype),)
        }

    @cached_property
    def required_columns(self) -> list[str]:
        return [n for n, c in self.model.to_schema().columns.items() if not c.nullable]


def _kind(dtype: object) -> str:
    text = str(dtype)
    if text.startswith("datetime64") or text.startswith("DateTime"):
        return "timestamp"
    if text in ("Int64", "int64"):
        return "integer"
    if text in ("float64",):
        return "number"
    if text in ("boolean", "bool"):
        return "flag"
    return "text"


# Columns holding calendar dates (stored as DATE) as opposed to timestamps.
DATE_COLUMNS = {
    "created_date", "order_date", "expected_close_date", "closed_date", "last_contact_date",
    "date", "due_date", "established",
}  # fmt: skip

_FK_ACCOUNT = ForeignKey("account_id", "accounts", "account_id")
_FK_OPPORTUNITY = ForeignKey("opportunity_id", "opportunities", "opportunity_id")

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "accounts",
            Accounts,
            ("account_id",),
            required=True,
            foreign_keys=(ForeignKey("parent_account_id", "accounts", "account_id"),),
            past_columns=("created_date",),
        ),
        TableSpec("products", Products, ("product_id",)),
        TableSpec(
            "orders",
            Orders,
            ("order_id", "line_no"),
            required=True,
            foreign_keys=(_FK_ACCOUNT, ForeignKey("product_id", "products", "product_id")),
            as_of_column="order_date",
            past_columns=("order_date",),
            flag_negative=("amount",),
        ),
        TableSpec(
            "opportunities",
            Opportunities,
            ("opportunity_id",),
            foreign_keys=(_FK_ACCOUNT,),
            as_of_column="created_date",
            past_columns=("created_date", "closed_date"),
        ),
        TableSpec(
            "stage_history",
            StageHistory,
            ("opportunity_id", "entered_at"),
            foreign_keys=(ForeignKey("opportunity_id", "opportunities", "opportunity_id"),),
            as_of_column="entered_at",
            past_columns=("entered_at",),
        ),
        TableSpec(
            "contacts",
            Contacts,
            ("contact_id",),
            foreign_keys=(_FK_ACCOUNT,),
            past_columns=("last_contact_date",),
        ),
        TableSpec(
            "opportunity_contacts",
            OpportunityContacts,
            ("opportunity_id", "contact_id"),
            foreign_keys=(
                ForeignKey("opportunity_id", "opportunities", "opportunity_id"),
                ForeignKey("contact_id", "contacts", "contact_id"),
            ),
        ),
        TableSpec(
            "activities",
            Activities,
            ("activity_id",),
            foreign_keys=(_FK_ACCOUNT,),
            as_of_column="date",
            past_columns=("date",),
        ),
        TableSpec(
            "service_tickets",
            ServiceTickets,
            ("ticket_id",),
            foreign_keys=(_FK_ACCOUNT,),
            as_of_column="opened_at",
            past_columns=("opened_at", "first_response_at", "resolved_at"),
        ),
        TableSpec(
            "targets",
            Targets,
            ("target_id",),
            foreign_keys=(ForeignKey("parent_id", "targets", "target_id"), _FK_ACCOUNT),
        ),
        TableSpec(
            "plan_items",
            PlanItems,
            ("item_id",),
            foreign_keys=(_FK_ACCOUNT, ForeignKey("target_id", "targets", "target_id")),
        ),
        TableSpec(
            "tasks",
            Tasks,
            ("task_id",),
            foreign_keys=(_FK_OPPORTUNITY,),
            as_of_column="created_date",
            past_columns=("created_date", "done_date"),
        ),
        TableSpec(
            "opportunity_competitors",
            OpportunityCompetitors,
            ("opportunity_id", "competitor"),
            foreign_keys=(_FK_OPPORTUNITY,),
        ),
        TableSpec(
            "firmographics",
            Firmographics,
            ("account_id", "source", "retrieved_at"),
            foreign_keys=(_FK_ACCOUNT,),
            as_of_column="retrieved_at",
            past_columns=("retrieved_at", "established"),
        ),
        TableSpec(
            "company_events",
            CompanyEvents,
            ("event_id",),
            foreign_keys=(_FK_ACCOUNT,),
            as_of_column="date",
            past_columns=("date",),
        ),
    )
}

#: Tables in an order where every table comes after the tables it refers to.
LOAD_ORDER: tuple[str, ...] = tuple(TABLES)


def check_bounds(spec: TableSpec) -> dict[str, dict[str, object]]:
    """Per column, the simple checks pandera holds (``ge``, ``le``, ``isin``) as plain values."""
    out: dict[str, dict[str, object]] = {}
    for name, col in spec.model.to_schema().columns.items():
        bounds: dict[str, object] = {}
        for check in col.checks:
            stats = check.statistics or {}
            if check.name == "greater_than_or_equal_to":
                bounds["ge"] = stats["min_value"]
            elif check.name == "less_than_or_equal_to":
                bounds["le"] = stats["max_value"]
            elif check.name == "isin":
                bounds["isin"] = list(stats["allowed_values"])
        if col.unique:
            bounds["unique"] = True
        out[name] = bounds
    return out


def conform(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Give a frame exactly the schema's columns and pandas dtypes."""
    out = {}
    for col, kind in spec.columns.items():
        s = frame[col] if col in frame else pd.Series(pd.NA, index=frame.index)
        if kind == "text":
            s = s.astype("str").where(s.notna(), None) if len(s) else s.astype("str")
        elif kind == "integer":
            s = s.astype("Int64")
        elif kind == "number":
            s = pd.to_numeric(s, errors="raise").astype("float64")
        elif kind in ("date", "timestamp"):
            s = pd.to_datetime(s).astype("datetime64[ns]")
        elif kind == "flag":
            s = s.astype("boolean")
        out[col] = s
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)
