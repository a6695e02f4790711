"""The methodology file: one YAML file drives stages, scoring (indicators, bands, weights,
tiers, Pareto), tags and segments, research and forecast settings, so a training session, an
analyst and the scheduled run all see the same rules.  It is validated on load into frozen
objects, unknown keys refused with "did you mean" (:mod:`~kamlib.methodology.methodology`:
the :class:`Methodology` object, load / parse / resolve, ``extends:``;
:mod:`~kamlib.methodology.schema`; :mod:`~kamlib.methodology.files`, YAML within safety
limits; one module per section: ``scoring``, ``segmentation``, ``research``, ``forecast``,
``playbooks`` — the sales processes, their stage tasks and resources, the bid checklist).
``load_methodology()`` with no argument returns the documented default shipped with kamlib
(``kamlib/resources/methodology.yml``) and :func:`resolve_methodology` is the one way a public
function takes its ``methodology`` argument.  Alongside: :mod:`~kamlib.methodology.rules`
(the safe rule language of tags, groups and segments), :mod:`~kamlib.methodology.ahp` (AHP
weights, pure maths) and :mod:`~kamlib.methodology.labels` (the report vocabulary in en/zh,
data in ``labels.yml``, read by :mod:`~kamlib.methodology.vocabulary`).  It sits under every analysis layer and imports nothing of kamlib
but :mod:`kamlib.errors`.
"""

from kamlib.errors import ConfigError
from kamlib.methodology.ahp import AHP_MAX_CONSISTENCY_RATIO
from kamlib.methodology.files import (
    MAX_YAML_BYTES,
    MAX_YAML_NODES,
    load_yaml_text,
    read_yaml_file,
)
from kamlib.methodology.forecast import (
    ForecastSettings,
    parse_forecast,
)
from kamlib.methodology.methodology import (
    DEFAULT_METHODOLOGY,
    Methodology,
    Stage,
    load_methodology,
    parse_methodology,
    resolve_methodology,
)
from kamlib.methodology.parsing import (
    MAX_WEIGHT_SUM,
    normalise_label,
    normalised_weights,
)
from kamlib.methodology.playbooks import (
    CHECKLIST_CONDITIONS,
    TASK_KINDS,
    ChecklistItem,
    Playbooks,
    PlaybookStage,
    PlaybookTask,
    SalesProcess,
    parse_playbooks,
)
from kamlib.methodology.research import (
    ResearchSettings,
    parse_research,
)
from kamlib.methodology.schema import (
    check_methodology_keys,
)
from kamlib.methodology.scoring import (
    CANONICAL_TABLES,
    INDICATOR_KINDS,
    KNOWN_FEATURES,
    MAX_POINTS,
    RESERVED_NAMES,
    WEIGHT_METHODS,
    WEIGHT_SUM_TOLERANCE,
    AhpJudgements,
    Band,
    Indicator,
    MissingRule,
    ParetoRule,
    ScoringModel,
    Tier,
    WeightsNormalisedWarning,
    WeightSpec,
    feature_kinds,
    format_number,
    parse_scoring,
)
from kamlib.methodology.segmentation import (
    BUILTIN_GROUP,
    GROUP_FIELDS,
    GROUP_KINDS,
    QUADRANTS,
    RFM_DIMENSIONS,
    RFM_FIELDS,
    AbcSettings,
    GroupDefinition,
    PortfolioSettings,
    Quadrant,
    RfmSettings,
    Segmentation,
    SegmentRule,
    TagRule,
    check_abc_limits,
    check_cut_points,
    check_quantiles,
    group_definition,
    group_fields,
    parse_rfm,
    parse_segments,
    parse_tags,
    portfolio_axis,
    portfolio_threshold,
    segment_rules,
)

__all__ = [
    "ConfigError",
    "DEFAULT_METHODOLOGY",
    "load_methodology",
    "Methodology",
    "parse_methodology",
    "resolve_methodology",
    "Stage",
    "check_methodology_keys",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "load_yaml_text",
    "read_yaml_file",
    "MAX_WEIGHT_SUM",
    "normalise_label",
    "normalised_weights",
    "AHP_MAX_CONSISTENCY_RATIO",
    "CANONICAL_TABLES",
    "INDICATOR_KINDS",
    "KNOWN_FEATURES",
    "MAX_POINTS",
    "RESERVED_NAMES",
    "WEIGHT_METHODS",
    "WEIGHT_SUM_TOLERANCE",
    "AhpJudgements",
    "Band",
    "feature_kinds",
    "format_number",
    "Indicator",
    "MissingRule",
    "ParetoRule",
    "parse_scoring",
    "ScoringModel",
    "Tier",
    "WeightsNormalisedWarning",
    "WeightSpec",
    "BUILTIN_GROUP",
    "GROUP_FIELDS",
    "GROUP_KINDS",
    "QUADRANTS",
    "RFM_DIMENSIONS",
    "RFM_FIELDS",
    "AbcSettings",
    "check_abc_limits",
    "check_cut_points",
    "check_quantiles",
    "group_definition",
    "group_fields",
    "GroupDefinition",
    "parse_rfm",
    "parse_segments",
    "parse_tags",
    "portfolio_axis",
    "portfolio_threshold",
    "PortfolioSettings",
    "Quadrant",
    "RfmSettings",
    "segment_rules",
    "Segmentation",
    "SegmentRule",
    "TagRule",
    "parse_research",
    "ResearchSettings",
    "ForecastSettings",
    "parse_forecast",
    "CHECKLIST_CONDITIONS",
    "TASK_KINDS",
    "ChecklistItem",
    "PlaybookStage",
    "Playbooks",
    "PlaybookTask",
    "SalesProcess",
    "parse_playbooks",
]
