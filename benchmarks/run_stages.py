"""Wall time of a finished workflow run per stage, and the share of it spent starting processes.

Reads a Snakemake log (default: the newest `.snakemake/log/*.snakemake.log` under --workdir): every
job's start (the timestamp before its `rule`/`localrule` line) and end (the timestamp before
`Finished jobid`). A stage's span runs from its first job's start to its last job's end; its job
seconds are the sum over its jobs (with --cores 2 two jobs overlap, so job seconds can exceed the span).
Process start-up is measured here, not assumed: S = the median wall time of a fresh interpreter that
imports what the heavy `gkt` jobs import (torch, timm, the transfer and logits stages); each job is
charged min(its duration, S), an upper bound (light jobs import less), summed over cores x wall time.

    python benchmarks/run_stages.py [--workdir .] [--log FILE] [--cores 2]

Last line: `run: W.W min wall, N jobs; <stage> S.S min, ...; start-up X.X % of core time`.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

# Rule name (without a study's prefix such as `digits_`) -> pipeline stage, in pipeline order.
STAGES = {
    "zoo": ("zoo_model",),
    "logits": ("logits_geometry", "logits_group", "logits"),
    "complementary": ("pair_list", "complementary", "embed_classes", "semantic", "all_pairs"),
    "transfer": ("transfer", "transfer_batch", "transfer_multi", "transfer_soup", "transfer_plan"),
    "recommend": ("probe", "recommend", "improve"),
    "db+figures": ("database", "figures"),
}
# Rules that do not start a gkt process (Snakemake's own target rule).
NO_PROCESS = {"all"}
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+)")


def stage_of(rule: str) -> str:
    """The stage of a rule, also under a study's prefix (`digits_logits`) and a batch's number."""
    rule = re.sub(r"_\d+$", "", rule)  # transfer_batch_<i>
    for stage, rules in STAGES.items():
        if any(rule == name or rule.endswith(f"_{name}") for name in rules):
            return stage
    return "other"


def parse(log: Path) -> dict[int, dict]:
    jobs: dict[int, dict] = {}
    stamp, pending = None, None
    for line in log.read_text().splitlines():
        if m := STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := START.match(line):
            pending = (m.group(1), stamp)
        elif (m := JOBID.match(line)) and pending:
            jobs[int(m.group(1))] = {"rule": pending[0], "start": pending[1]}
            pending = None
        elif (m := FINISHED.match(line)) and int(m.group(1)) in jobs:
            jobs[int(m.group(1))]["end"] = stamp
    return {k: j for k, j in jobs.items() if "end" in j}


def startup_seconds(repeats: int = 3) -> float:
    """Median wall time of a fresh interpreter importing what a gkt job imports before its work."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch, timm, gkt.cli, gkt.transfer.run, gkt.logits.compute"],
                       check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default=".", help="the workflow's folder (holds .snakemake/log)")
    ap.add_argument("--log", default=None, help="a Snakemake log file (default: the newest in --workdir)")
    ap.add_argument("--cores", type=int, default=2, help="the cores the run had (--cores)")
    args = ap.parse_args()
    log = Path(args.log) if args.log else max((Path(args.workdir) / ".snakemake/log").glob("*.snakemake.log"),
                                              key=lambda p: p.stat().st_mtime)
    jobs = parse(log)
    if not jobs:
        sys.exit(f"no finished jobs in {log}: give the log of a run (--log)")
    start = min(j["start"] for j in jobs.values())
    wall = (max(j["end"] for j in jobs.values()) - start).total_seconds()
    by_stage: dict[str, list[dict]] = {}
    for j in jobs.values():
        by_stage.setdefault(stage_of(j["rule"]), []).append(j)
    print(f"{log}: {len(jobs)} finished jobs, wall {wall / 60:.1f} min")
    print(f"{'stage':<14} {'jobs':>5} {'span min':>9} {'job min':>8}  from .. to (min after start)")
    parts = []
    for stage in [*STAGES, "other"]:
        if stage not in by_stage:
            continue
        js = by_stage[stage]
        first, last = min(j["start"] for j in js), max(j["end"] for j in js)
        span = (last - first).total_seconds()
        busy = sum((j["end"] - j["start"]).total_seconds() for j in js)
        print(f"{stage:<14} {len(js):>5} {span / 60:>9.1f} {busy / 60:>8.1f}  "
              f"{(first - start).total_seconds() / 60:.1f} .. {(last - start).total_seconds() / 60:.1f}")
        parts.append(f"{stage} {span / 60:.1f} min")
    per = startup_seconds()
    runs = [j for j in jobs.values() if j["rule"] not in NO_PROCESS]
    charged = sum(min((j["end"] - j["start"]).total_seconds(), per) for j in runs)
    share = charged / (args.cores * wall)
    print(f"start-up: {len(runs)} gkt processes, each charged min(duration, {per:.2f} s) (S measured: fresh interpreter "
          f"importing torch, timm, gkt) = {charged / 60:.1f} min of {args.cores} x {wall / 60:.1f} core-min")
    print(f"run: {wall / 60:.1f} min wall, {len(jobs)} jobs; {', '.join(parts)}; start-up {100 * share:.1f} % of core time")


if __name__ == "__main__":
    main()
