"""PII masking: person names, phone numbers and e-mail addresses → stable pseudonyms.

A dossier rendered with ``mask_pii=True`` is built from frames masked *before* any table or
chart is made, so the HTML (chart JSON included) never holds the real values.

Rules
-----
- Pseudonyms come from a keyed hash (HMAC-SHA256 of the value, key ``key``): the same input
  gives the same pseudonym within a report and across reports made with the same key, and
  the pseudonym says nothing about the value.  ``Person-3f2a9c`` (contacts),
  ``Staff-8b1e04`` (our own people: account owners, activity and plan owners),
  ``user-3f2a9c@example.invalid`` (e-mail), ``TEL-3f2a9c1d`` (phone).
- Masked columns: contacts' ``name``, ``email``, ``phone``; the person columns ``owner``,
  ``contact_name``, ``owners``.  Then every text cell of every masked frame is swept: each
  known name, e-mail or phone number that occurs inside free text (notes, plan titles,
  business challenges, finding texts) is replaced by its pseudonym, and any remaining
  e-mail-like or phone-like pattern is replaced too.
- Account names are company names, not personal data: they are kept (a dossier about an
  unnamed company would be useless for planning).  Titles, departments and roles are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

DEFAULT_KEY = "kamlib-pii"

#: columns holding our own people's names (staff)
STAFF_COLUMNS = ("owner", "owners", "account_owner", "team_head")
#: columns holding customer persons' names
PERSON_COLUMNS = ("contact_name",)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# international numbers (+86 …), Chinese mobiles (11 digits from 13…) and landlines (010-…)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s-]?\d[\d\s-]{6,}\d|1[3-9]\d{9}|0\d{2,3}-\d{7,8})(?![\w])"
)


@dataclass
class PiiMasker:
    """Maps person names, e-mails and phone numbers to stable pseudonyms.

    Parameters
    ----------
    key
        The HMAC key; the same key gives the same pseudonyms.

    Examples
    --------
    >>> m = PiiMasker()
    >>> m.person("王伟") == m.person("王伟")
    True
    >>> m.person("王伟").startswith("Person-")
    True
    """

    key: str = DEFAULT_KEY
    _known: dict[str, str] = field(default_factory=dict, repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def _digest(self, kind: str, value: str) -> str:
        mac = hmac.new(self.key.encode("utf-8"), f"{kind}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def _remember(self, value: str, pseudonym: str) -> str:
        if len(value) >= 2 and value not in self._known:
            self._known[value] = pseudonym
            self._pattern = None
        return pseudonym

    def person(self, name: object) -> object:
        """A customer person's pseudonym (``None``/NA stay missing)."""
        return self._map(name, lambda v: f"Person-{self._digest('person', v)[:6]}")

    def staff(self, name: object) -> object:
        """One of our own people's pseudonym."""
        return self._map(name, lambda v: f"Staff-{self._digest('staff', v)[:6]}")

    def email(self, address: object) -> object:
        """An e-mail address's pseudonym (a non-routable ``example.invalid`` address)."""
        return self._map(
            address, lambda v: f"user-{self._digest('email', v.lower())[:6]}@example.invalid"
        )

    def phone(self, number: object) -> object:
        """A phone number's pseudonym."""
        return self._map(
            number, lambda v: f"TEL-{self._digest('phone', re.sub(r'[^0-9+]', '', v))[:8]}"
        )

    def _map(self, value: object, make) -> object:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return value
        raw = str(value).strip()
        if not raw:
            return value
        return self._remember(raw, make(raw))

    def learn(
        self,
        *,
        persons: Iterable[object] = (),
        staff: Iterable[object] = (),
        emails: Iterable[object] = (),
        phones: Iterable[object] = (),
    ) -> None:
        """Register values so that :meth:`sweep` replaces them inside free text too."""
        for v in persons:
            self.person(v)
        for v in staff:
            self.staff(v)
        for v in emails:
            self.email(v)
        for v in phones:
            self.phone(v)

    def sweep(self, value: object) -> object:
        """Replace every known value and any e-mail / phone pattern inside a text."""
        if not isinstance(value, str) or not value:
            return value
        out = value
        if self._known:
            if self._pattern is None:  # longest first, so a name inside a longer one loses
                alternatives = sorted(self._known, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, alternatives)))
            known = self._known
            out = self._pattern.sub(lambda m: known[m.group(0)], out)
        out = _EMAIL.sub(
            lambda m: (
                m.group(0) if m.group(0).endswith("@example.invalid") else self.email(m.group(0))
            ),
            out,
        )
        return _PHONE.sub(lambda m: str(self.phone(m.group(0))), out)

    def mask_contacts(self, contacts: pd.DataFrame) -> pd.DataFrame:
        """A copy of a contacts-like frame with ``name``, ``email``, ``phone`` masked."""
        out = contacts.copy()
        columns = {"name": self.person, "email": self.email, "phone": self.phone}
        for col, fn in columns.items():
            if col in out.columns:
                out[col] = out[col].map(fn).astype(out[col].dtype)
        return self.mask_frame(out)

    def mask_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy with person columns masked and every text cell swept."""
        out = frame.copy()
        for col in out.columns:
            if col in STAFF_COLUMNS:
                out[col] = out[col].map(self.staff)
            elif col in PERSON_COLUMNS:
                out[col] = out[col].map(self.person)
        for col in out.columns:
            series = out[col]
            if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
                out[col] = series.map(self.sweep).astype(series.dtype)
        return out
