"""CI cannot lose the browser, real-data or Spark tests to a quiet skip.

The hook in ``tests/conftest.py`` turns the skip of a test marked ``browser``, ``spark`` or
using the ``shared_data`` fixture into a failure when ``.ci/run``'s ``KAMLIB_REQUIRE_*``
variable is set.  Checked by running pytest on a throw-away test directory that uses a copy
of this conftest (its ``../shared/data`` does not exist there).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

PROBE = '''
import pytest

@pytest.mark.browser
@pytest.mark.skipif(True, reason="no chromium here")
def test_browser():
    pass

def test_real(shared_data):
    pass

@pytest.mark.spark
def test_spark():
    pytest.skip("no Java here")

def test_plain_skip():
    pytest.skip("an ordinary skip stays a skip")

@pytest.mark.browser
@pytest.mark.xfail(reason="expected", strict=True)
def test_browser_xfail():
    raise AssertionError
'''


def run_probe(tmp_path: Path, **env: str) -> str:
    suite = tmp_path / "project" / "tests"
    suite.mkdir(parents=True)
    shutil.copy(TESTS / "conftest.py", suite / "conftest.py")
    (suite / "test_probe.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "project" / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n  browser: b\n  slow: s\n  spark: s\n", encoding="utf-8"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KAMLIB_REQUIRE")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(suite)],
        cwd=tmp_path / "project", env={**clean, **env}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    return done.stdout


def test_without_the_variables_missing_things_skip(tmp_path):
    out = run_probe(tmp_path)
    assert "4 skipped, 1 xfailed" in out, out


@pytest.mark.parametrize(
    ("variable", "test"),
    [
        ("KAMLIB_REQUIRE_BROWSER", "test_browser"),
        ("KAMLIB_REQUIRE_REAL_DATA", "test_real"),
        ("KAMLIB_REQUIRE_SPARK", "test_spark"),
    ],
)
def test_under_ci_a_skip_is_a_failure(tmp_path, variable, test):
    out = run_probe(tmp_path, **{variable: "1"})
    # a skip in setup (skipif, a fixture) is reported as an error, in the call as a failure
    assert re.search(rf"^(FAILED|ERROR) tests/test_probe.py::{test} ", out, re.M), out
    assert f"{variable} is set (CI), so this" in out
    assert re.search(r"\b1 (failed|error)\b", out) and "3 skipped, 1 xfailed" in out, out


def test_ci_sets_every_variable():
    script = (ROOT / ".ci" / "run").read_text("utf-8")
    from conftest import REQUIREMENTS

    for variable in REQUIREMENTS:
        assert f"export {variable}=1" in script
