"""The canonical tables (DATA_MODEL.md): their columns, kinds, keys and simple checks.

These classes are the single contract between import, analysis and reports.  The import
engine translates them into SQL checks (so 10M order lines are validated inside DuckDB),
``KamData.validate()`` runs them with pandera (:meth:`Table.to_schema` builds the pandera
schema on first use, so importing kamlib does not import pandera: ``kam --help`` 0.81 s →
0.44 s), and every loaded frame carries exactly the columns listed here, optional ones
included (all-null when the source did not have them).

Column kinds: text (``str``), whole numbers (``Int64``), amounts (``float64``), dates and
timestamps (``datetime64``), flags (``boolean``).  ``*`` columns of DATA_MODEL.md are
``nullable=False`` here; every other column is optional.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import pandas as pd

if TYPE_CHECKING:
    import pandera.pandas as pa

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


@dataclass(frozen=True)
class Column:
    """One column of a canonical table: its kind, whether it may be empty, whether its values
    are unique, and the simple checks (``ge``, ``le``, ``isin``) pandera and the import hold."""

    nullable: bool = True
    unique: bool = False
    ge: float | None = None
    le: float | None = None
    isin: Sequence[str] | None = None
    kind: ClassVar[str]


class Text(Column):
    kind = "text"


class Integer(Column):
    kind = "integer"


class Number(Column):
    kind = "number"


class Timestamp(Column):
    """A date or a time (stored as DATE for the names in :data:`DATE_COLUMNS`)."""

    kind = "timestamp"


class Flag(Column):
    kind = "flag"


class Table:
    """A canonical table: its :class:`Column` attributes, in the order declared."""

    columns: ClassVar[dict[str, Column]] = {}
    _schema: ClassVar[pa.DataFrameSchema | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.columns = {k: v for k, v in vars(cls).items() if isinstance(v, Column)}
        cls._schema = None

    @classmethod
    def to_schema(cls) -> pa.DataFrameSchema:
        """The pandera schema of the table (built once)."""
        if cls._schema is None:
            import pandera.pandas as pa

            dtypes = {
                "text": str,
                "integer": pd.Int64Dtype,
                "number": float,
                "timestamp": pa.DateTime,
                "flag": pd.BooleanDtype,
            }
            columns = {}
            for name, col in cls.columns.items():
                checks = []
                if col.ge is not None:
                    checks.append(pa.Check.greater_than_or_equal_to(col.ge))
                if col.le is not None:
                    checks.append(pa.Check.less_than_or_equal_to(col.le))
                if col.isin is not None:
                    checks.append(pa.Check.isin(col.isin))
                columns[name] = pa.Column(
                    dtypes[col.kind], checks=checks, nullable=col.nullable, unique=col.unique
                )
            cls._schema = pa.DataFrameSchema(columns, name=cls.__name__)
        return cls._schema

    @classmethod
    def validate(cls, frame: pd.DataFrame, *, lazy: bool = False) -> pd.DataFrame:
        """:meth:`pandera.DataFrameSchema.validate` with the table's schema."""
        return cls.to_schema().validate(frame, lazy=lazy)


class Accounts(Table):
    """Customers, with their group hierarchy and static indicators."""

    account_id = Text(nullable=False, unique=True)
    name = Text(nullable=False)
    industry = Text()
    sub_industry = Text()
    region = Text()
    country = Text()
    city = Text()
    employees = Integer(ge=0)
    annual_revenue = Number(ge=0)
    registered_capital = Number(ge=0)
    ownership = Text(isin=OWNERSHIP)
    parent_account_id = Text()
    owner = Text()
    created_date = Timestamp()
    category_spend = Number(ge=0)
    strategic_fit = Integer(ge=1, le=5)
    # company registry identifiers, when the CRM keeps them: the unified social credit code
    # (统一社会信用代码, 18 characters, GB 32100-2015) and the D-U-N-S number (9 digits)
    uscc = Text()
    duns = Text()
    province = Text()


class Products(Table):
    """What we sell, grouped into product lines."""

    product_id = Text(nullable=False, unique=True)
    name = Text()
    product_line = Text(nullable=False)
    series = Text()
    list_price = Number(ge=0)


class Orders(Table):
    """Order lines: the ground truth of what customers bought.

    ``amount`` is net and may be negative (returns, credit notes); the import report
    counts such lines.
    """

    order_id = Text(nullable=False)
    line_no = Integer(nullable=False, ge=0)
    account_id = Text(nullable=False)
    order_date = Timestamp(nullable=False)
    product_id = Text()
    product_line = Text()
    quantity = Number()
    amount = Number(nullable=False)
    cost = Number()
    business_unit = Text()
    region = Text()
    channel = Text()


class Opportunities(Table):
    """Opportunities in their current state."""

    opportunity_id = Text(nullable=False, unique=True)
    account_id = Text()
    name = Text()
    product_line = Text()
    amount = Number(ge=0)
    owner = Text()
    team = Text()
    created_date = Timestamp(nullable=False)
    expected_close_date = Timestamp()
    stage = Text(nullable=False)
    status = Text(nullable=False, isin=OPPORTUNITY_STATUS)
    closed_date = Timestamp()
    lost_reason = Text()
    competitor = Text()
    source = Text()
    # the sales process (a process key of the methodology's playbooks: tender, framework …)
    sales_process = Text()
    # lost deals: the competitor that won, or "no decision" (NO_DECISION)
    lost_to = Text()


class StageHistory(Table):
    """One row per stage entry (and per amount / close-date change where known)."""

    opportunity_id = Text(nullable=False)
    stage = Text(nullable=False)
    entered_at = Timestamp(nullable=False)
    amount = Number(ge=0)
    expected_close_date = Timestamp()


class Contacts(Table):
    """Decision-maker profiles (权力地图)."""

    contact_id = Text(nullable=False, unique=True)
    account_id = Text(nullable=False)
    name = Text()
    title = Text()
    department = Text()
    buying_role = Text(isin=BUYING_ROLES)
    influence = Integer(ge=1, le=5)
    support = Integer(ge=-2, le=2)
    reaction_mode = Text(isin=REACTION_MODES)
    business_challenges = Text()
    email = Text()
    phone = Text()
    last_contact_date = Timestamp()


class OpportunityContacts(Table):
    """Who matters on which deal."""

    opportunity_id = Text(nullable=False)
    contact_id = Text(nullable=False)
    role = Text()


class Activities(Table):
    """Visits, calls, meetings, joint business meetings."""

    activity_id = Text(nullable=False, unique=True)
    account_id = Text(nullable=False)
    contact_id = Text()
    opportunity_id = Text()
    type = Text(isin=ACTIVITY_TYPES)
    date = Timestamp(nullable=False)
    owner = Text()
    notes = Text()


class ServiceTickets(Table):
    """Service requests: responsiveness and escalations."""

    ticket_id = Text(nullable=False, unique=True)
    account_id = Text(nullable=False)
    opened_at = Timestamp(nullable=False)
    first_response_at = Timestamp()
    resolved_at = Timestamp()
    priority = Text(isin=PRIORITIES)
    category = Text()
    department = Text()
    region = Text()
    escalated = Flag()
    status = Text()
    sla_response_hours = Number(ge=0)
    sla_resolution_hours = Number(ge=0)
    satisfaction = Integer(ge=1, le=5)


class Targets(Table):
    """OGSM targets, cascaded company → team → manager → account."""

    target_id = Text(nullable=False, unique=True)
    parent_id = Text()
    level = Text(isin=TARGET_LEVELS)
    owner = Text()
    team = Text()
    account_id = Text()
    period = Text(nullable=False)
    objective = Text()
    measure = Text(nullable=False)
    target_value = Number(nullable=False)


class PlanItems(Table):
    """Customer success plans and action plans."""

    item_id = Text(nullable=False, unique=True)
    account_id = Text(nullable=False)
    target_id = Text()
    title = Text(nullable=False)
    owner = Text()
    due_date = Timestamp()
    status = Text(isin=PLAN_STATUS)
    kind = Text()


class Tasks(Table):
    """The stage playbook's tasks and resources as done on each deal.

    ``task`` is a code of the methodology's playbooks (the import quarantines any other);
    ``done_date`` is when it was done (a timestamp, compared with the stage history's
    ``entered_at``: done before the deal left the stage or not).
    """

    task_id = Text(nullable=False, unique=True)
    opportunity_id = Text(nullable=False)
    stage = Text()
    task = Text(nullable=False)
    owner = Text()
    created_date = Timestamp()
    due_date = Timestamp()
    done_date = Timestamp()
    status = Text(isin=TASK_STATUS)


class OpportunityCompetitors(Table):
    """Who we met on each deal; ``primary`` marks the main competitor, prices where known."""

    opportunity_id = Text(nullable=False)
    competitor = Text(nullable=False)
    primary = Flag()
    our_price = Number(ge=0)
    competitor_price = Number(ge=0)
    notes = Text()


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


class Firmographics(Table):
    """Company registry data (天眼查 / 企查查 exports, D&B) matched to accounts.

    One row per account, source and retrieval: a later retrieval adds rows, it does not
    overwrite the earlier ones (the registry's history is itself a record).  Capital is the
    amount in its own currency (``reg_capital_currency``: CNY, USD …; "77800.32万人民币" is
    778,003,200 CNY).  ``match_confidence`` (0–1) and ``match_method`` (uscc, duns, name,
    override …) say how the record was tied to the account.
    """

    account_id = Text(nullable=False)
    source = Text(nullable=False)
    retrieved_at = Timestamp(nullable=False)
    id_scheme = Text(isin=ID_SCHEMES)
    company_id = Text()
    legal_name = Text()
    former_names = Text()
    english_name = Text()
    reg_status = Text()
    legal_representative = Text()
    company_type = Text()
    established = Timestamp()
    reg_capital = Number(ge=0)
    reg_capital_currency = Text()
    paid_in_capital = Number(ge=0)
    paid_in_capital_currency = Text()
    headcount_band = Text()
    insured_headcount = Integer(ge=0)
    industry_code = Text()
    industry_scheme = Text()
    industry = Text()
    listed = Flag()
    parent_company_id = Text()
    province = Text()
    city = Text()
    district = Text()
    address = Text()
    match_confidence = Number(ge=0, le=1)
    match_method = Text()


class CompanyEvents(Table):
    """Risk and change events from the registry (name, capital, legal-representative change,
    penalty, enforcement, abnormal operation, dishonest debtor), tied to the account the
    company was matched to."""

    event_id = Text(nullable=False, unique=True)
    company_id = Text(nullable=False)
    date = Timestamp(nullable=False)
    type = Text(nullable=False, isin=COMPANY_EVENT_TYPES)
    account_id = Text()
    before = Text()
    after = Text()
    source = Text()
    retrieved_at = Timestamp()


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
    model: type[Table]
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
            name: "date" if name in DATE_COLUMNS and col.kind == "timestamp" else col.kind
            for name, col in self.model.columns.items()
        }

    @cached_property
    def required_columns(self) -> list[str]:
        return [n for n, c in self.model.columns.items() if not c.nullable]


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
    """Per column, the simple checks (``ge``, ``le``, ``isin``, ``unique``) as plain values."""
    out: dict[str, dict[str, object]] = {}
    for name, col in spec.model.columns.items():
        bounds: dict[str, object] = {}
        if col.ge is not None:
            bounds["ge"] = col.ge
        if col.le is not None:
            bounds["le"] = col.le
        if col.isin is not None:
            bounds["isin"] = list(col.isin)
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
