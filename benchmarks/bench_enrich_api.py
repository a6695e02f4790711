"""Registry matching through the API provider vs the file export, on the demo company.

    .venv/bin/python benchmarks/bench_enrich_api.py --scale default

Builds the demo company (``kam demo``'s data: accounts, the 天眼查-style registry export and
the truth of which record is which account) into a temporary store, then matches the
registry two ways and scores each against the truth:

- **file**: the export read by ``FileProvider`` (what ``kam enrich FILE`` does);
- **api**: the same records served by the fake 天眼查 API on 127.0.0.1
  (``tests/fake_tianyancha.py``) and looked up per account by ``TianyanchaProvider``
  (USCC, else search by name + company info), then a second run answered from the cache.

Precision = matched records whose account is the true one; recall = matchable true pairs
(the record belongs to an account, its USCC is valid, it is not one of a blank-city
namesake pair that must go to review) that were matched.  Nothing leaves 127.0.0.1.  The
fake's search finds a company by kamlib's own normalised name, so the api recall says how
well lookup + matching work when the search finds the company — not how well the real
search does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_tianyancha import TOKEN, demo_companies, start_fake

from kamlib.data import import_frames, load
from kamlib.data.response_cache import ResponseCache
from kamlib.demo import generate_demo
from kamlib.enrich import FileProvider, TianyanchaProvider, enrich_store


def score(matched: pd.DataFrame, rows: pd.Series, truth: pd.DataFrame) -> dict[str, float]:
    truth = truth.set_index("record")
    got = pd.Series(matched["account_id"].to_numpy(), index=rows.to_numpy())
    precision = float((got == truth.loc[got.index, "account_id"]).mean())
    ok = truth[truth["account_id"].notna() & ~truth["invalid_uscc"] & ~truth["ambiguous_pair"]]
    recall = float((got.reindex(ok.index) == ok["account_id"]).mean())
    return {"precision": precision, "recall": recall, "matched": len(got), "matchable": len(ok)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default", choices=["small", "default", "large"])
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    company = generate_demo(scale=args.scale, seed=args.seed)
    truth = company.truth["registry"]
    now = company.end_date + pd.Timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="kamlib-bench-") as tmp:
        folder = Path(tmp)
        export = folder / "tianyancha_companies.csv"
        company.registry["companies"].to_csv(export, index=False)
        base = folder / "base.duckdb"
        import_frames(company.tables, store=base, source="demo", now=now)

        file_store = folder / "file.duckdb"
        file_store.write_bytes(base.read_bytes())
        file_report = enrich_store(file_store, FileProvider([export], retrieved_at=now), now=now)
        m = file_report.match.matched
        file_scores = score(m, m["_row"] - 2, truth)  # _row: the file's line (header = 1)

        fake, url, server = start_fake(demo_companies(company.registry["companies"]))
        try:
            api_store = folder / "api.duckdb"
            api_store.write_bytes(base.read_bytes())
            accounts = load(api_store).accounts
            runs = []
            for _ in range(2):  # the second run is answered from the cache
                provider = TianyanchaProvider.for_accounts(
                    accounts, retrieved_at=now, api_url=url, rate=1e6,
                    cache=ResponseCache(folder / "cache"), environ={"KAMLIB_TIANYANCHA_TOKEN": TOKEN},
                )  # fmt: skip
                report = enrich_store(api_store, provider, now=now)
                runs.append((provider.requests_made, provider.cache_hits))
        finally:
            server.shutdown()
            server.server_close()
        m = report.match.matched
        api_scores = score(m, m["_id"].astype(int) - 1000, truth)

    print(f"demo scale={args.scale} seed={args.seed}: {len(accounts):,} accounts, "
          f"{len(company.registry['companies']):,} export records")  # fmt: skip
    for name, scores, counts in (("file", file_scores, file_report.summary()),
                                 ("api", api_scores, report.summary())):  # fmt: skip
        print(f"{name:5} precision {scores['precision']:.4f}  recall {scores['recall']:.4f}  "
              f"({scores['matched']:,} matched; {scores['matchable']:,} matchable)  counts "
              + ", ".join(f"{k} {counts[k]:,}" for k in ("read", "matched", "ambiguous", "unmatched", "quarantined")))  # fmt: skip
    print(f"api requests: first run {runs[0][0]:,} ({runs[0][1]:,} from cache), "
          f"second run {runs[1][0]:,} ({runs[1][1]:,} from cache)")  # fmt: skip


if __name__ == "__main__":
    main()
