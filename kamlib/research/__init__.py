"""Account research: the 360° view of a key account, its power map, service, OGSM progress.

Pure analysis of a :class:`~kamlib.data.KamData` as of a date (no file I/O, no printing, no
``lang``): :mod:`~kamlib.research.context` pre-computes what a batch of dossiers shares,
:mod:`~kamlib.research.dossier` assembles one account's dossier from the sections of
:mod:`~kamlib.research.sections`, :mod:`~kamlib.research.findings` applies the finding rules; :mod:`~kamlib.research.decision_makers`, :mod:`~kamlib.research.service`,
:mod:`~kamlib.research.ogsm` and :mod:`~kamlib.research.overview` hold one idea each.  The report
views that write these results in English or Chinese are in :mod:`kamlib.views`
(``customer_research``, ``account_summary``, ``ogsm_review``).

Public API
----------
- :func:`account_dossier` → :class:`AccountDossier` — everything the customer research
  dossier shows about one account as of a date (firmographics and group, revenue history,
  share of wallet and whitespace, pipeline, competitors met and the open deals' playbook gaps
  (:mod:`~kamlib.research.sales_process`), activities, service, score and tier, power map,
  OGSM targets and plan items, ranked findings as rule keys and parameters), optionally with
  PII masked.
- :func:`research_context` → :class:`ResearchContext` — the shared pre-computation for a batch
  of dossiers (features, scores, peers, ticket clocks …), cached per process.
- :func:`power_map` → :class:`PowerMap`; :func:`relationship_strength`.
- :func:`service_responsiveness` → :class:`ServiceResult`.
- :func:`ogsm_progress` → :class:`OgsmResult`.
- :class:`PiiMasker` — stable pseudonyms for names, phones and e-mails.
- :func:`account_overview` → :class:`AccountOverview` — the short account summary.

Every rule and threshold is in the ``research`` section of the methodology file
(:class:`kamlib.methodology.ResearchSettings`) and stated in the module docstrings of
:mod:`kamlib.research.decision_makers`, :mod:`~kamlib.research.service`,
:mod:`~kamlib.research.ogsm` and :mod:`~kamlib.research.findings`.
"""

from kamlib.research.context import ResearchContext, research_context
from kamlib.research.decision_makers import PowerMap, relationship_strength
from kamlib.research.dossier import AccountDossier, account_dossier, power_map
from kamlib.research.masking import PiiMasker
from kamlib.research.ogsm import OgsmResult, check_cascade, ogsm_progress
from kamlib.research.overview import AccountOverview, account_overview
from kamlib.research.service import ServiceResult, service_responsiveness

__all__ = [
    "AccountDossier",
    "AccountOverview",
    "OgsmResult",
    "PiiMasker",
    "PowerMap",
    "ResearchContext",
    "ServiceResult",
    "account_dossier",
    "account_overview",
    "check_cascade",
    "ogsm_progress",
    "power_map",
    "relationship_strength",
    "research_context",
    "service_responsiveness",
]
