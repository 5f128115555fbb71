"""Compare two finished workflow runs file by file: the proof that a change of code changed no result.

Every Parquet file under results/ (tables compared value by value, the columns that measure time
left out), every zoo record (JSON, its training time left out), the Parquet key-value metadata
(package versions and times left out) and every figure or table CSV under figures/ must be identical
in both runs, and both runs must hold the same files. Prints one line per difference and a summary;
exit status 1 when anything differs.

    python scripts/compare_runs.py RUN_A RUN_B     # folders holding results/ and figures/
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gkt.io import STAMP_KEY

# What measures time or the software, not the science (the content stamp covers the timing columns).
TIMING_COLUMNS = {"seconds", "seconds_total", "train_seconds"}
VOLATILE_METADATA = {b"versions", b"written_at", b"ARROW:schema", STAMP_KEY}
COMPARED = ("results/**/*.parquet", "results/*/zoo/*.json", "figures/**/*.csv")


def _parquet(a: Path, b: Path) -> str | None:
    ta, tb = pq.read_table(a), pq.read_table(b)
    keep = [c for c in ta.column_names if c not in TIMING_COLUMNS]
    if keep != [c for c in tb.column_names if c not in TIMING_COLUMNS]:
        return f"columns differ: {ta.column_names} vs {tb.column_names}"
    if ta.num_rows != tb.num_rows:
        return f"{ta.num_rows} vs {tb.num_rows} rows"
    for c in keep:
        ca, cb = ta.column(c), tb.column(c)
        if pa.types.is_floating(ca.type) and ca.type == cb.type:  # NaN equals NaN here, unlike Arrow's equals
            same = ca.null_count == cb.null_count and np.array_equal(ca.to_numpy(), cb.to_numpy(), equal_nan=True)
        else:
            same = ca.equals(cb)
        if not same:
            return f"column {c!r} differs"
    ma = {k: v for k, v in (ta.schema.metadata or {}).items() if k not in VOLATILE_METADATA}
    mb = {k: v for k, v in (tb.schema.metadata or {}).items() if k not in VOLATILE_METADATA}
    if ma != mb:
        return f"metadata differs: {sorted(k.decode() for k in set(ma) ^ set(mb) | {k for k in ma if ma.get(k) != mb.get(k)})}"
    return None


def _record(a: Path, b: Path) -> str | None:
    ra, rb = (json.loads(p.read_text()) for p in (a, b))
    for r in (ra, rb):
        r.pop("train_seconds", None)
    diff = sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
    return f"fields differ: {diff}" if diff else None


def compare(run_a: Path, run_b: Path) -> list[str]:
    """One line per file that differs or exists in one run only."""
    problems, n = [], 0
    for pattern in COMPARED:
        files_a = {p.relative_to(run_a) for p in run_a.glob(pattern)}
        files_b = {p.relative_to(run_b) for p in run_b.glob(pattern)}
        problems += [f"only in {run_a}: {f}" for f in sorted(files_a - files_b)]
        problems += [f"only in {run_b}: {f}" for f in sorted(files_b - files_a)]
        for f in sorted(files_a & files_b):
            n += 1
            if f.suffix == ".parquet":
                why = _parquet(run_a / f, run_b / f)
            elif f.suffix == ".json":
                why = _record(run_a / f, run_b / f)
            else:
                why = None if (run_a / f).read_bytes() == (run_b / f).read_bytes() else "content differs"
            if why:
                problems.append(f"{f}: {why}")
    print(f"compared {n} files present in both runs")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    args = ap.parse_args()
    problems = compare(args.run_a, args.run_b)
    for line in problems:
        print(line)
    print(f"{len(problems)} difference(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
