"""Refresh the README's query examples from a run's database, so that the numbers shown are the
pipeline's, not anyone's memory.

Every ```sql block of README.md that is followed by a plain ``` block gets that block replaced by
what `gkt query` prints for the SQL on --db. With --check nothing is written; the exit status is 1
when an output differs.

    python scripts/readme_results.py --db results/mnist5k/gkt.duckdb [--readme README.md] [--check]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from gkt.text import format_table
from gkt.db.read import query

EXAMPLE = re.compile(r"(```sql\n(?P<sql>.*?)```\n\n```\n)(?P<out>.*?)(```)", re.S)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="the run's database (results/<dataset>/gkt.duckdb)")
    ap.add_argument("--readme", default=str(Path(__file__).resolve().parents[1] / "README.md"))
    ap.add_argument("--check", action="store_true", help="only report outputs that differ")
    args = ap.parse_args()
    readme = Path(args.readme)
    text = readme.read_text()
    stale = []

    def refresh(m: re.Match) -> str:
        out = format_table(query(m["sql"], args.db), "table")
        if out != m["out"]:
            stale.append(m["sql"].splitlines()[0])
        return m.group(1) + out + m.group(4)

    new = EXAMPLE.sub(refresh, text)
    examples = len(EXAMPLE.findall(text))
    if args.check:
        for first in stale:
            print(f"stale output: {first}")
        print(f"{examples} examples, {len(stale)} stale")
        sys.exit(1 if stale else 0)
    readme.write_text(new)
    print(f"{examples} examples, {len(stale)} refreshed in {readme}")


if __name__ == "__main__":
    main()
