"""Where a run's results are: the results folder a command reads when none is named.

A workflow run writes `results/<dataset>/` for its main data set and one more folder per study of
another data set (config `studies:`, e.g. the default run's `results/digits` beside
`results/mnist5k`). The main folder's database names the studies' folders (its `gkt_info` row
`extra_results`, written by `gkt db --extra-results`), which is how a command run from the
repository root tells the main data set from its studies without the config at hand.
"""
from __future__ import annotations

import os
from pathlib import Path

from gkt.errors import GktError

RESULTS_ROOT = Path("results")
DB_NAME = "gkt.duckdb"

# The --results / --db help of every command that reads a run's results.
DEFAULT_RULE = ("the main data set's results/<dataset> under the working directory: the only one, or, when the "
                "run made study folders beside it (config studies:), the one whose database names them")
RESULTS_HELP = f"results folder of one data set (default: {DEFAULT_RULE})"
DB_HELP = f"database file (default: {DB_NAME} in {DEFAULT_RULE})"


def _studies_of(folder: Path) -> set[Path]:
    """The study folders that `folder`'s database names as its extra results (none without a database)."""
    db = folder / DB_NAME
    if not db.is_file():
        return set()
    import duckdb

    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return set()
    try:
        rows = con.execute("SELECT value FROM gkt_info WHERE key = 'extra_results'").fetchall()
    except duckdb.Error:
        rows = []
    finally:
        con.close()
    return {(folder / rel).resolve() for (value,) in rows for rel in (value or "").split(",") if rel}


def find_results(results: str | os.PathLike | None = None, choose: str = "--results results/<dataset>") -> Path:
    """`results` if given (it must hold a zoo/), else the main data set's folder under results/: the only
    folder with a zoo, or, when a run made several (its studies'), the one whose database names the
    others as its studies. `choose`: the option that names one, for the error lines."""
    if results:
        path = Path(results)
        if not (path / "zoo").is_dir():
            raise GktError(f"{path} is not a results folder (no zoo/ in it): give results/<dataset> with --results")
        return path
    found = sorted(p.parent for p in RESULTS_ROOT.glob("*/zoo") if p.is_dir())
    if len(found) == 1:
        return found[0]
    if not found:
        raise GktError(f"no results folder with a zoo under {RESULTS_ROOT}/: run the workflow first "
                       f"(snakemake --cores all) or name one with {choose}")
    studies = set().union(*(_studies_of(f) for f in found))
    main = [f for f in found if f.resolve() not in studies]
    if len(main) == 1:
        return main[0]
    raise GktError(f"several results folders ({', '.join(map(str, main))}) and none names the others as its studies: "
                   f"choose one with {choose}")
