"""The shipped notebooks in a real JupyterLab, in real Chromium, with the network cut (#16).

A JupyterLab server is started on 127.0.0.1 (a free port, a token) over a temporary copy of
the project's notebooks (the report notebooks under ``notebooks/`` and the training course
under ``notebooks/training/``), its methodology and schedule files and the small demo store
at ``data/demo.duckdb``, so the notebooks run as shipped: their default ``store`` is found
from the kernel's folder upwards (:mod:`kamlib.paths`).  Debian's chromium (Playwright, never ``playwright install``) opens
each notebook with every request that does not go to that server aborted and recorded, runs
all cells through JupyterLab's own command, and checks what the page shows: no error output,
every chart drawn, no request leaving the machine; in the course also every exercise marked
correct and no widget label cut.  In 01_tiering it then
moves a what-if slider, as step 6 asks, and re-runs an exercise check: still correct.

Screenshots of each notebook go to ``build/screenshots/lab/`` (git-ignored; CI keeps them as
artefacts) for people to look at.  Every wait is bounded, and the server is stopped whatever
happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_support import SCREENSHOTS as ALL_SCREENSHOTS
from browser_support import launched_chromium, needs_chromium

pytestmark = needs_chromium

ROOT = Path(__file__).resolve().parents[1]
TRAINING = sorted(p.stem for p in (ROOT / "notebooks" / "training").glob("*.ipynb"))
REPORTS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


def _exercise_checks(name: str) -> int:
    """How many exercise checks the notebook calls (each prints one feedback line)."""
    text = (ROOT / "notebooks" / "training" / f"{name}.ipynb").read_text(encoding="utf-8")
    return text.count("check(")


SCREENSHOTS = ALL_SCREENSHOTS / "lab"
TOKEN = "kamlib-lab-test"

#: Bounds on every wait (ms): a stuck kernel fails the test instead of hanging CI.
SERVER_START_S = 90
OPEN_MS = 90_000
RUN_ALL_MS = 240_000
CHARTS_MS = 30_000
CELL_MS = 60_000

#: JupyterLab settings for the test: no news pop-up over the page, every cell in the DOM.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}

#: The notebook panel of the current tab, in the page's JavaScript.
PANEL = "window.jupyterapp.shell.currentWidget"


@dataclass
class Lab:
    url: str
    root: Path


@dataclass
class LabVisit:
    """One training notebook opened and run in the lab."""

    name: str
    page: object
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # error outputs: "ename: evalue"
    model_charts: int = 0  # chart outputs the kernel sent
    charts: int = 0  # chart containers in the page
    drawn: int = 0  # … with their marks drawn (svg or canvas)
    checks: list[str] = field(default_factory=list)  # the exercise checks' feedback lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, demo_store):
    """JupyterLab on 127.0.0.1 over a copy of the training notebooks and the demo store."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "project"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "data").mkdir()
    for config in (ROOT / "data").glob("*.yml"):  # methodology and schedule files
        shutil.copy(config, root / "data" / config.name)
    shutil.copy(demo_store, root / "data" / "demo.duckdb")
    settings = base / "settings"
    for name, values in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    port = _free_port()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        ),
        JUPYTER_CONFIG_DIR=str(base / "config"),  # the user's own Jupyter config stays out
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
    )
    command = [
        str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands as menus do
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (base / "server.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=5
                )
                break
            except (urllib.error.URLError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "JupyterLab did not start: "
                        + (base / "server.log").read_text(encoding="utf-8")[-3000:]
                    )
                time.sleep(0.5)
        yield Lab(url=f"http://127.0.0.1:{port}", root=root)
    finally:
        server.terminate()  # the server shuts its kernels down
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own session: the server and its kernels
            server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


def _open(browser, lab: Lab, name: str, folder: str = "notebooks/training") -> LabVisit:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    visit = LabVisit(name, context.new_page())

    def only_the_lab(route):
        if route.request.url.startswith(lab.url + "/"):
            route.continue_()
        else:
            visit.requests.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_lab)
    page = visit.page
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{lab.url}/lab/tree/{folder}/{name}.ipynb?reset&token={TOKEN}", timeout=OPEN_MS)
    page.wait_for_function(
        f"() => {{ const p = window.jupyterapp && {PANEL};"
        " const k = p && p.sessionContext && p.sessionContext.session"
        " && p.sessionContext.session.kernel;"
        " return !!(k && k.status === 'idle' && p.content.widgets.length); }",
        timeout=OPEN_MS,
    )
    return visit


def _run_all(visit: LabVisit) -> None:
    """Run all cells with JupyterLab's command (Run ▸ Run All Cells) and wait for the end."""
    page = visit.page
    page.evaluate(
        "() => { window.kamlibRunAll = 'running';"
        " window.jupyterapp.commands.execute('notebook:run-all-cells')"
        "   .then(ok => { window.kamlibRunAll = ok ? 'done' : 'failed'; },"
        "         err => { window.kamlibRunAll = 'error: ' + err; }); }"
    )
    page.wait_for_function("() => window.kamlibRunAll !== 'running'", timeout=RUN_ALL_MS)
    _wait_idle(page)


def _wait_idle(page) -> None:
    page.wait_for_function(
        f"() => {PANEL}.sessionContext.session.kernel.status === 'idle'", timeout=CELL_MS
    )


_CHARTS_JS = """() => {
  const all = Array.from(document.querySelectorAll('.kamlib-chart, .vega-embed'));
  const drawn = all.filter(e => e.querySelector('svg.marks, canvas.marks'));
  return [all.length, drawn.length];
}"""


def _close(visit: LabVisit) -> None:
    """Shut the notebook's kernel down (frees its memory) and close its page."""
    visit.page.evaluate(f"() => {PANEL}.sessionContext.shutdown()")
    visit.page.context.close()


def _look(visit: LabVisit) -> None:
    """Record what the run left: error outputs, charts sent and drawn, exercise feedback."""
    page = visit.page
    notebook = page.evaluate(f"() => {PANEL}.context.model.toJSON()")
    outputs = [o for c in notebook["cells"] for o in c.get("outputs", [])]
    visit.errors = [
        f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o["output_type"] == "error"
    ]
    visit.model_charts = sum(
        'class="kamlib-chart"' in "".join(o.get("data", {}).get("text/html", ""))
        or any(k.startswith("application/vnd.vegalite") for k in o.get("data", {}))
        for o in outputs
    )
    with contextlib.suppress(Exception):  # the assertions say what is missing
        page.wait_for_function(
            f"() => {{ const [n, d] = ({_CHARTS_JS})(); return n > 0 && n === d; }}",
            timeout=CHARTS_MS,
        )
    visit.charts, visit.drawn = page.evaluate(_CHARTS_JS)
    visit.checks = [
        "".join(o.get("data", {}).get("text/markdown", ""))
        for o in outputs
        if "text/markdown" in o.get("data", {})
        and "**Exercise" in "".join(o["data"]["text/markdown"])
    ]


def _screenshots(visit: LabVisit, *, suffix: str = "", pages: int = 40) -> list[Path]:
    """The notebook, one screenful at a time: build/screenshots/lab/<name>[-suffix]-NN.png."""
    page = visit.page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = visit.name + (f"-{suffix}" if suffix else "")
    for old in SCREENSHOTS.glob(f"{stem}-[0-9][0-9].png"):
        old.unlink()
    panel = page.locator(".jp-NotebookPanel:visible").first
    scroller = (
        f"({PANEL}.content.node.querySelector('.jp-WindowedPanel-outer') || {PANEL}.content.node)"
    )
    paths = []
    for i in range(pages):  # the height grows as cells paint (content-visibility): re-read it
        page.evaluate(
            f"i => {{ const s = {scroller}; s.scrollTop = i * (s.clientHeight - 40); }}", i
        )
        page.wait_for_timeout(250)  # let the cells in view paint
        path = SCREENSHOTS / f"{stem}-{i + 1:02d}.png"
        panel.screenshot(path=str(path))
        paths.append(path)
        if page.evaluate(
            f"() => {{ const s = {scroller}; return s.scrollTop + s.clientHeight >= s.scrollHeight - 2; }}"
        ):
            break
    return paths


@pytest.fixture(scope="module")
def visits(browser, lab):
    """Each training notebook opened and run once; 01_tiering's page stays open."""
    out = {}
    for name in TRAINING:
        visit = _open(browser, lab, name)
        visit.page.evaluate(
            "() => window.jupyterapp.commands.execute('application:toggle-left-area')"
        )
        _run_all(visit)
        _look(visit)
        _screenshots(visit)
        out[name] = visit
        if name != "01_tiering":
            _close(visit)
    yield out
    out["01_tiering"].page.context.close()


@pytest.fixture(scope="module")
def report_visits(browser, lab):
    """Each report notebook under notebooks/ opened and run as shipped, with its defaults."""
    out = {}
    for name in REPORTS:
        visit = _open(browser, lab, name, folder="notebooks")
        _run_all(visit)
        _look(visit)
        _screenshots(visit, pages=12)
        _close(visit)
        out[name] = visit
    return out


@pytest.mark.parametrize("name", REPORTS)
def test_report_notebook_runs_all_in_the_lab_offline(report_visits, name):
    visit = report_visits[name]
    assert visit.errors == [], f"{name}: error output {visit.errors}"
    assert visit.charts >= visit.model_charts, (visit.charts, visit.model_charts)
    assert visit.drawn == visit.charts, (
        f"{name}: {visit.drawn} of {visit.charts} charts drawn; console: {visit.console_errors}"
    )
    assert visit.requests == [], f"{name}: requests that tried to leave the machine"


@pytest.mark.parametrize("name", TRAINING)
def test_training_notebook_runs_all_in_the_lab_offline(visits, name):
    visit = visits[name]
    assert visit.errors == [], f"{name}: error output {visit.errors}"
    assert visit.model_charts > 0
    # every chart the kernel sent is in the page (01_tiering adds the what-if widget's own)
    assert visit.charts >= visit.model_charts, (visit.charts, visit.model_charts)
    assert visit.drawn == visit.charts, (
        f"{name}: {visit.drawn} of {visit.charts} charts drawn; console: {visit.console_errors}"
    )
    assert len(visit.checks) == _exercise_checks(name) and all(
        "— Correct" in c for c in visit.checks
    ), visit.checks
    assert visit.requests == [], f"{name}: requests that tried to leave the machine"


def test_the_what_if_widget_shows_its_sliders_and_cuts_no_label(visits):
    page = visits["01_tiering"].page
    assert page.locator(".jp-OutputArea .widget-slider").count() >= 5
    cut = page.evaluate(
        """() => Array.from(document.querySelectorAll(
              '.jp-OutputArea .widget-label, .jp-OutputArea .jupyter-button'))
            .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
            .map(e => e.textContent.trim())"""
    )
    assert cut == [], f"labels cut: {cut}"
    # after Run All the output is the methodology's setting, as the sliders say
    assert (
        "Accounts whose tier changes: 0"
        in page.locator(".jp-OutputArea .widget-output").first.inner_text()
    )


def test_a_moved_slider_leaves_a_correct_exercise_correct(visits):
    visit = visits["01_tiering"]
    page = visit.page
    slider = page.locator(".jp-OutputArea .widget-slider").first
    slider.scroll_into_view_if_needed()
    label = slider.locator(".widget-label").inner_text()
    handle = slider.locator(".noUi-handle").first
    track = slider.locator(".noUi-target").first
    box, rail = handle.bounding_box(), track.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(rail["x"] - 20, box["y"] + box["height"] / 2, steps=8)  # to 0
    page.mouse.up()
    readout = slider.locator(".widget-readout")
    page.wait_for_function(
        "e => e.textContent.trim() === '0.00'", arg=readout.element_handle(), timeout=CELL_MS
    )
    output = page.locator(".jp-OutputArea .widget-output").first
    page.wait_for_function(
        "e => /tier changes: [1-9]/.test(e.innerText)", arg=output.element_handle(), timeout=CELL_MS
    )
    _screenshots(visit, suffix="slider-moved", pages=40)
    cells = page.evaluate(
        f"() => {PANEL}.content.widgets.map(c => c.model.sharedModel.getSource())"
    )
    index = next(i for i, s in enumerate(cells) if "training.check(" in s and '"Exercise 1"' in s)
    page.evaluate(
        f"i => {{ {PANEL}.content.activeCellIndex = i;"
        " return window.jupyterapp.commands.execute('notebook:run-cell'); }",
        index,
    )
    _wait_idle(page)
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    page.wait_for_function(
        "e => /Exercise 1/.test(e.innerText)",
        arg=cell.locator(".jp-OutputArea").element_handle(),
        timeout=CELL_MS,
    )
    feedback = cell.locator(".jp-OutputArea").inner_text()
    assert "Exercise 1 — Correct" in feedback, f"after moving {label!r}: {feedback}"
    cell.screenshot(path=str(SCREENSHOTS / "01_tiering-check-after-slider.png"))
    assert visit.requests == []
