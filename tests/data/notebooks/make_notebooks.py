"""Writes the tiny report notebooks used by the engine tests (outputs stripped).

Run `python tests/data/notebooks/make_notebooks.py` after changing it; commit the notebooks.
"""
from pathlib import Path

import nbformat as nbf

OUT = Path(__file__).resolve().parent
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def notebook(name, title, params, cells, per_account=False, frequency=None):
    nb = nbf.v4.new_notebook()
    meta = {"title": title, "per_account": per_account}
    if frequency:
        meta["frequency"] = frequency
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["kamlib"] = meta
    p = nbf.v4.new_code_cell("\n".join(params))
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbf.v4.new_markdown_cell(f"# {title['en']}"), p]
    for c in cells:
        nb.cells.append(nbf.v4.new_markdown_cell(c[1:]) if c.startswith("#") else nbf.v4.new_code_cell(c))
    for i, c in enumerate(nb.cells):
        c["id"] = f"{name[:20]}-{i}"
    nbf.write(nb, OUT / f"{name}.ipynb")


STD = [
    'store: str = "data/demo.duckdb"  # path of the data store',
    'as_of: str = "2026-09-30"  # last day of the reporting period (YYYY-MM-DD)',
    'lang: str = "en"  # report language: en or zh',
    "snapshot: int = 0  # import batch to read, 0 for the newest (the engine pins one)",
]

notebook(
    "book_summary",
    {"en": "Book summary", "zh": "业务概览"},
    STD + [
        "top_n: int = 5  # how many accounts to list",
        "scale: float = 1.0  # multiply amounts by this",
        "show_chart: bool = True  # draw the chart",
    ],
    [
        "from pathlib import Path\nimport os",
        "if Path(store + \".fail\").exists():\n    raise RuntimeError(\"the store is marked to fail\")",
        "### Numbers",
        "print(f\"as_of={as_of} lang={lang} top_n={top_n} scale={scale} show_chart={show_chart}\")\n"
        "leftover = 'set by book_summary'",
        "import kamlib.data\n"
        "data = kamlib.data.load(store, snapshot=snapshot or None)\n"
        "print(f\"figures: batch {data.snapshot.batch_id} orders {len(data.orders)} \"\n"
        "      f\"total {data.orders['amount'].sum():.2f}\")",
        "os.chdir(\"/\")  # reports must not leak state into the next one",
    ],
)

notebook(
    "account_brief",
    {"en": "Account brief", "zh": "客户简报"},
    STD + ['account_id: str = "A0001"  # the account'],
    [
        "from pathlib import Path",
        "if Path(f\"{store}.fail-{account_id}\").exists():\n    raise ValueError(f\"no data for {account_id}\")",
        "import os\nprint(f\"account {account_id} as of {as_of}; leftover visible: {'leftover' in dir()}; cwd={os.getcwd()}\")",
    ],
    per_account=True,
    frequency="quarterly",
)

notebook(
    "broken",
    {"en": "Broken report", "zh": "出错的报告"},
    STD,
    ["x = 1", "#Below, a cell that fails.", "x / 0", "print('never')"],
)

notebook(
    "hangs",
    {"en": "Hanging report", "zh": "卡住的报告"},
    STD,
    ["import time", "time.sleep(300)", "print('never')"],
)
