"""Benchmark: refusing a YAML alias bomb in a methodology file costs about what loading a real
methodology file costs (issue 17: the bomb once ran 36.7 s and 3.2 GB before exit 0).

Alternating in one process, several times: loading ``data/methodology.yml`` (the baseline)
and refusing the alias bomb of ``tests/test_methodology.py`` (nine levels of nine aliases, 9⁹
nodes when expanded).  The figure is the ratio of the median times (bomb ÷ baseline); the
target is at most 3× — refusal by counting nodes, never by expanding them::

    .venv/bin/python benchmarks/bench_yaml_bomb.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_methodology import BOMB  # noqa: E402

from kamlib.errors import ConfigError  # noqa: E402
from kamlib.methodology import load_methodology  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.yml"
        bomb.write_text(BOMB, encoding="utf-8")
        real = ROOT / "data" / "methodology.yml"
        base, refuse = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            load_methodology(real)
            base.append(time.perf_counter() - t)
            t = time.perf_counter()
            try:
                load_methodology(bomb)
            except ConfigError:
                pass
            else:
                raise SystemExit("the alias bomb loaded: the node limit is gone")
            refuse.append(time.perf_counter() - t)
    b, r = statistics.median(base), statistics.median(refuse)
    print(f"load methodology.yml {b * 1000:.1f} ms; refuse the bomb {r * 1000:.1f} ms; "
          f"ratio {r / b:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
