"""``import kamlib`` in a Jupyter kernel is enough for every Altair chart to draw offline.

A real kernel (nbclient) runs a fresh notebook: a user's own plain ``alt.Chart`` after
``import kamlib`` must carry the vega bundle from the installed package and name no CDN; a
renderer the user chose before importing kamlib is left alone.  (That the HTML draws in a
browser with the network cut is shown by the report and lab browser tests.)
"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

PLAIN_CHART = (
    "import altair as alt, pandas as pd\n"
    "alt.Chart(pd.DataFrame({'x': ['a', 'b'], 'y': [1, 2]})).mark_bar().encode(x='x', y='y')"
)


def _run(*sources: str) -> list[dict]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    return [out for cell in nb.cells for out in cell.outputs]


def _html(outputs: list[dict]) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in outputs)


@pytest.mark.slow
def test_a_plain_altair_chart_after_import_kamlib_needs_no_network() -> None:
    outputs = _run("import kamlib", PLAIN_CHART)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = _html(outputs)
    assert "vegaEmbed" in html
    # kamlib's renderer drew it: the charts' queue, the bundle as a module script
    assert "kamlibCharts" in html and '<script type="module">' in html
    # outside the bundle's own code nothing names a CDN (Altair's default loads
    # https://cdn.jsdelivr.net/npm/vega@6 …)
    outside = re.sub(r'<script type="module">.*?</script>', "", html, flags=re.S)
    assert "cdn.jsdelivr" not in outside and "unpkg.com" not in outside
    # the bundle itself came with the first chart (vega-lite's compile function is in it)
    assert len(html) > 300_000


@pytest.mark.slow
def test_a_renderer_the_user_chose_is_left_alone() -> None:
    outputs = _run(
        "import altair as alt\nalt.renderers.enable('html')",
        "import kamlib\nprint(alt.renderers.active)",
    )
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert printed.strip() == "html"
