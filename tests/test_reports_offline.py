"""kamlib.reports.offline: the offline renderer and the bundle cache."""

from __future__ import annotations

import json
import re

import altair as alt
import pandas as pd
import pytest
from report_fixtures import AS_OF, XSS, make_data

from kamlib import charts
from kamlib.data import health
from kamlib.reports import offline

FAKE_BUNDLE = "/*FAKE-VEGA-BUNDLE*/ window.vegaEmbed = function () {};" + " " * 20_000


@pytest.fixture(scope="module")
def result():
    return health.data_health(make_data(), as_of=AS_OF)


@pytest.fixture
def fake_bundle(monkeypatch):
    monkeypatch.setattr(offline, "vega_bundle", lambda: FAKE_BUNDLE)


@pytest.fixture
def restore_renderer():
    active = alt.renderers.active
    yield
    alt.renderers.enable(active)


# -- offline renderer -----------------------------------------------------------------------
def test_bundle_is_embedded_once_for_many_charts(result, fake_bundle):
    renderer = offline.OfflineRenderer(lang="en")
    outputs = [
        renderer(c.to_dict())["text/html"]
        for c in (
            charts.rows_per_table(result.tables),
            charts.quarantine_reasons(result.quarantine),
            charts.rows_per_batch(result.batch_tables),
            charts.coverage_gaps(result.coverage),
        )
    ]
    page = "\n".join(outputs)
    assert page.count("FAKE-VEGA-BUNDLE") == 1
    assert "FAKE-VEGA-BUNDLE" in outputs[0]
    assert page.count('<script type="module">') == 1
    assert page.count("vegaEmbed(el, spec, opts)") == 4
    assert len(set(re.findall(r'id="(kamlib-chart-[0-9a-f]+)"', page))) == 4


def test_enable_offline_starts_a_new_page(result, fake_bundle, restore_renderer):
    chart = charts.rows_per_table(result.tables)
    offline.enable_offline()
    assert alt.renderers.active == offline.RENDERER_NAME
    first = chart._repr_mimebundle_()["text/html"]
    second = chart._repr_mimebundle_()["text/html"]
    offline.enable_offline()  # the next notebook in the same kernel
    third = chart._repr_mimebundle_()["text/html"]
    assert ["FAKE-VEGA-BUNDLE" in html for html in (first, second, third)] == [True, False, True]


def test_chart_html_options_and_escaping(fake_bundle):
    data = pd.DataFrame({"name": [f"</script>{XSS}<!--", "华东"], "value": [1, 2]})
    spec = alt.Chart(data).mark_bar().encode(x="value:Q", y="name:N").to_dict()
    html = offline.chart_html(spec, lang="zh", include_bundle=False)
    # the only script end tag is ours: the data cannot close the script or open a comment
    assert html.count("</script>") == 1
    assert "<!--" not in html
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in html
    options = json.loads(re.search(r"var opts = (\{.*\});", html).group(1))
    assert options["renderer"] == "svg"
    assert options["tooltip"] is True
    assert options["actions"] == {
        "export": True, "source": False, "compiled": False, "editor": False,
    }  # fmt: skip
    assert options["formatLocale"]["currency"] == ["¥", ""]
    assert options["i18n"]["SVG_ACTION"] == "另存为 SVG"
    embedded = json.loads(re.search(r"var spec = (\{.*\});", html).group(1))
    assert embedded["config"]["font"] == charts.FONT


def test_report_spec_keeps_the_charts_own_config():
    spec = {"mark": "bar", "config": {"font": "Serif", "axis": {"labelFontSize": 20}}}
    merged = offline.report_spec(spec)
    assert merged["config"]["font"] == "Serif"
    assert merged["config"]["axis"]["labelFontSize"] == 20
    assert merged["config"]["axis"]["gridColor"] == charts.REPORT_CONFIG["axis"]["gridColor"]
    assert spec["config"] == {"font": "Serif", "axis": {"labelFontSize": 20}}  # not mutated


def test_svg_mode_draws_static_svg_without_script(result):
    renderer = offline.OfflineRenderer(svg=True, lang="zh")
    html = renderer(charts.coverage_gaps(result.coverage, lang="zh").to_dict())["text/html"]
    assert html.startswith('<figure class="kamlib-chart kamlib-chart-static"><svg')
    assert "<script" not in html
    assert "没有订单的客户" in html


# -- the bundle and its cache ---------------------------------------------------------------
@pytest.fixture
def bundle_builds(monkeypatch, tmp_path):
    import vl_convert

    calls = []

    def build(snippet=None, vl_version=None):
        calls.append(vl_version)
        return FAKE_BUNDLE

    monkeypatch.setenv("KAMLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(vl_convert, "javascript_bundle", build)
    offline._vega_bundle.cache_clear()
    yield calls
    offline._vega_bundle.cache_clear()


def test_bundle_is_built_once_and_cached_on_disk(bundle_builds, tmp_path):
    import vl_convert

    assert offline.vega_bundle() == FAKE_BUNDLE
    path = offline.bundle_cache_path()
    assert path.parent == tmp_path / "cache"
    assert f"vlconvert{vl_convert.__version__}" in path.name  # a new vl-convert rebuilds
    assert path.read_text(encoding="utf-8") == FAKE_BUNDLE
    offline._vega_bundle.cache_clear()  # a new kernel
    assert offline.vega_bundle() == FAKE_BUNDLE
    assert bundle_builds == [offline.vega_lite_version()]  # built once, then read
    assert not list(path.parent.glob("*.tmp"))


def test_bundle_without_a_writable_cache_still_works(bundle_builds, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("KAMLIB_CACHE_DIR", str(blocker / "cache"))
    assert offline.vega_bundle() == FAKE_BUNDLE


def test_a_truncated_cache_file_is_rebuilt(bundle_builds):
    path = offline.bundle_cache_path()
    path.parent.mkdir(parents=True)
    path.write_text("window.vegaEm", encoding="utf-8")
    assert offline.vega_bundle() == FAKE_BUNDLE
    assert len(bundle_builds) == 1


def test_real_bundle_fits_in_a_script_tag():
    bundle = offline.vega_bundle()
    assert "window.vegaEmbed" in bundle
    assert "</script" not in bundle.lower()
    # plain JavaScript: no import/export statements (checked as a module by the browser test)
    assert not re.search(r"^\s*(import|export)\s", bundle, flags=re.MULTILINE)
    assert offline.vega_lite_version() == ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def test_altair_embed_options_are_honoured(result, fake_bundle, restore_renderer):
    offline.enable_offline()
    alt.renderers.set_embed_options(actions=False)
    html = charts.rows_per_table(result.tables)._repr_mimebundle_()["text/html"]
    options = json.loads(re.search(r"var opts = (\{.*\});", html).group(1))
    assert options["actions"] is False
    assert options["tooltip"] is True


def test_a_book_of_twenty_thousand_accounts_draws_its_score_histogram(restore_renderer):
    """Altair refuses charts over 5,000 rows by default: the portfolio review of the large demo
    (20,000 accounts) failed on its score histogram.  enable_offline raises the limit."""
    scores = pd.DataFrame(
        {"score": [i % 100 for i in range(20_000)], "tier": ["Key"] * 20_000}
    )
    transformer = alt.data_transformers.active
    try:
        offline.enable_offline(svg=True)
        spec = charts.score_distribution(scores).to_dict()
        assert len(next(iter(spec["datasets"].values()))) == 20_000
    finally:
        alt.data_transformers.enable(transformer)
