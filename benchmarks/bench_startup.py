"""Benchmark: start-up of the CLI, a plain import and a report kernel, with and without the
deferred ``rfc3987_syntax`` import (:mod:`kamlib.startup`).

*before*: ``KAMLIB_EAGER_IMPORTS=1`` (the module is imported with jsonschema, as before this
change); *after*: the default.  Every case runs in a fresh process, the two modes alternating,
``--repeat`` times each; the ratio is after ÷ before of the medians.

Cases:

- ``python -c "import kamlib"``;
- ``kam --help``;
- ``python -c "import kamlib, nbformat, papermill, nbclient"`` — what ``kam report`` imports
  before it starts a kernel;
- a kernel: a fresh ``python3`` Jupyter kernel started (jupyter_client) and running
  ``import kamlib`` (the first cell of every report; Altair's offline renderer is set up in
  a kernel, and Altair imports jsonschema), timed from start to the cell's reply.

    .venv/bin/python benchmarks/bench_startup.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _env(eager: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KAMLIB_EAGER_IMPORTS"}
    if eager:
        env["KAMLIB_EAGER_IMPORTS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _process(argv: list[str]) -> Callable[[bool], float]:
    def run(eager: bool) -> float:
        start = time.perf_counter()
        subprocess.run(argv, env=_env(eager), check=True, capture_output=True)
        return time.perf_counter() - start

    return run


def _kernel(eager: bool) -> float:
    from jupyter_client.manager import start_new_kernel

    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3", env=_env(eager))
    try:
        reply = kc.execute_interactive("import kamlib", timeout=300, store_history=False)
        assert reply["content"]["status"] == "ok", reply["content"]
        return time.perf_counter() - start
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-kernel", action="store_true", help="skip the Jupyter kernel case")
    args = parser.parse_args()

    python = sys.executable
    kam = str(Path(python).with_name("kam"))
    cases: dict[str, Callable[[bool], float]] = {
        'python -c "import kamlib"': _process([python, "-c", "import kamlib"]),
        "kam --help": _process([kam, "--help"]),
        "kam report's imports (kamlib, nbformat, papermill, nbclient)": _process(
            [python, "-c", "import kamlib, nbformat, papermill, nbclient"]
        ),
    }
    if not args.no_kernel:
        cases["Jupyter kernel start + `import kamlib`"] = _kernel

    times = {name: {False: [], True: []} for name in cases}
    for fn in cases.values():  # warm-up: file cache
        fn(False)
        fn(True)
    for r in range(args.repeat):
        for name, fn in cases.items():
            order = (True, False) if r % 2 == 0 else (False, True)
            for eager in order:
                times[name][eager].append(fn(eager))

    load = os.getloadavg()
    print(
        f"\nStart-up, fresh processes, before (KAMLIB_EAGER_IMPORTS=1) and after alternating, "
        f"{args.repeat} runs each; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        f"on {os.cpu_count()} cores.\n"
    )
    print("| case | before s median (fastest) | after s median (fastest) | after ÷ before |")
    print("|---|---:|---:|---:|")
    for name in cases:
        before = statistics.median(times[name][True])
        after = statistics.median(times[name][False])
        fast_b, fast_a = min(times[name][True]), min(times[name][False])
        print(
            f"| {name} | {before:.2f} ({fast_b:.2f}) | {after:.2f} ({fast_a:.2f}) | "
            f"{after / before:.2f}× ({fast_a / fast_b:.2f}×) |"
        )


if __name__ == "__main__":
    main()
