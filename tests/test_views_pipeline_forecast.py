"""kamlib.views.pipeline_forecast: the view's arguments (the report itself is exercised in
test_forecast_tournament.py and by the notebook tests)."""

from __future__ import annotations

import pytest

from kamlib.data import load
from kamlib.errors import ConfigError
from kamlib.views.pipeline_forecast import pipeline_forecast


@pytest.fixture(scope="module")
def demo(demo_store):
    return load(demo_store)


def test_arguments_are_checked_with_the_parameter_named(demo):
    with pytest.raises(ConfigError, match=r"'as_of' parameter must be a date.*given to pipeline_forecast"):
        pipeline_forecast(demo, as_of="2026/06/30")
    with pytest.raises(ConfigError, match="report language"):
        pipeline_forecast(demo, as_of="2026-06-30", lang="fr")
    with pytest.raises(ConfigError, match="'methodology' parameter of pipeline_forecast"):
        pipeline_forecast(demo, 3.5, as_of="2026-06-30")
