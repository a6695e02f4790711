"""Start-up: ``import kamlib`` defers ``rfc3987_syntax`` (seconds of grammar building pulled in by
jsonschema) until a check needs it; ``KAMLIB_EAGER_IMPORTS=1`` imports it as before.

Each case runs in a fresh interpreter (what is imported at start-up is process state).  No
timings here: ``benchmarks/bench_startup.py`` measures them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("rfc3987_syntax")  # not installed: nothing to defer


def _python(code: str, *, eager: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "KAMLIB_EAGER_IMPORTS"}
    if eager:
        env["KAMLIB_EAGER_IMPORTS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


STATE = (
    "import json, sys\n"
    "m = sys.modules.get('rfc3987_syntax')\n"
    "print(json.dumps({'real': 'rfc3987_syntax.syntax_helpers' in sys.modules,"
    " 'kind': type(m).__name__ if m is not None else None,"
    " 'jsonschema': 'jsonschema' in sys.modules}))"
)


def test_import_kamlib_imports_neither_the_grammar_nor_jsonschema() -> None:
    state = _python("import kamlib\n" + STATE)
    assert state["real"] is False and state["jsonschema"] is False


def test_nbformat_and_altair_after_kamlib_do_not_build_the_grammar() -> None:
    # what a report kernel (Altair through the offline renderer) and `kam report` (nbformat)
    # import; the notebook and chart schemas use no IRI format
    code = (
        "import ipykernel.kernelapp, kamlib, nbformat, altair as alt\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1 + 1')])\n"
        "nbformat.validate(nb)\n"
        "nbformat.reads(nbformat.writes(nb), as_version=4)\n"
        "alt.Chart(alt.Data(url='data.csv')).mark_point().encode(x='a:Q').to_dict()\n" + STATE
    )
    state = _python(code)
    assert state == {"real": False, "kind": "DeferredModule", "jsonschema": True}


def test_an_iri_check_still_gets_the_real_answer() -> None:
    code = (
        "import kamlib, jsonschema\n"
        "check = jsonschema.FormatChecker()\n"
        "ok = [check.conforms(v, 'iri') for v in ('http://例え.jp/ab', 'http://例え.jp/a b')]\n"
        "ref = [check.conforms(v, 'iri-reference') for v in ('../a/b', 'a b')]\n"
        "import sys\n"
        "print(__import__('json').dumps({'iri': ok, 'ref': ref,"
        " 'real': type(sys.modules['rfc3987_syntax']).__name__ == 'module'}))"
    )
    state = _python(code)
    assert state == {"iri": [True, False], "ref": [True, False], "real": True}
    assert _python(code, eager=True) == state


def test_eager_mode_imports_the_real_module_with_jsonschema() -> None:
    state = _python("import kamlib, jsonschema\n" + STATE, eager=True)
    assert state == {"real": True, "kind": "module", "jsonschema": True}


def test_a_module_already_imported_is_left_alone() -> None:
    code = (
        "import rfc3987_syntax, sys\n"
        "before = sys.modules['rfc3987_syntax']\n"
        "import kamlib\n"
        "from kamlib.startup import defer_slow_imports\n"
        "print(__import__('json').dumps({'same': sys.modules['rfc3987_syntax'] is before,"
        " 'again': defer_slow_imports()}))"
    )
    assert _python(code) == {"same": True, "again": []}


def test_the_cli_starts_without_the_grammar() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['kam', '--help']\n"
        "from kamlib.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "import kamlib.reports.html\n" + STATE
    )
    state = _python(code)
    assert state["real"] is False and state["kind"] == "DeferredModule"
