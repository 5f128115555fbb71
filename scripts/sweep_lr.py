"""Choose one learning rate per transfer method for the embedded default, on data the default does
not report: the embedded zoo retrained on another split of mnist5k (dataset seed 1), transfer from a
stronger and a weaker teacher into two students, 20 epochs, each candidate learning rate for every
pair. The rule: per method, the learning rate with the highest mean delta_transf over the sweep's
runs (ties: the smaller rate). docs/protocol.md holds the table this prints.

    python scripts/sweep_lr.py [--lrs 1e-4 1e-3 1e-2] [--cores 2] [--subset-per-class N]

--subset-per-class replaces the transfer set's size (docs/protocol.md compares 30 per class with the
default's 100); its runs go to results/sweep-lr<lr>-s<N>/ and results/sweep-lr-s<N>.csv.

Each learning rate is a run folder results/sweep-lr<lr>/ sharing the first one's zoo and logits.
"""
from __future__ import annotations

import argparse
import copy
import subprocess
import sys
from pathlib import Path

import polars as pl
import yaml

REPO = Path(__file__).resolve().parents[1]
STUDENTS = ["convnext_a", "vit_a"]
TEACHERS = ["resnet10t_a", "resnet10t_b"]  # .965 and .574 on the default split: stronger and weaker


def sweep_config(base: dict, lr: float, subset: int | None = None) -> dict:
    cfg = copy.deepcopy(base)
    cfg["name"] = f"sweep-lr{lr:g}" + (f"-s{subset}" if subset else "")
    cfg["dataset"] = {**cfg["dataset"], "seed": 1}
    # Models fine-tuned from the default's zoo (the domain-shifted teachers) take no part in the sweep.
    cfg["zoo"] = [m for m in cfg["zoo"] if m.get("source") != "finetune"]
    t = cfg["transfer"]
    if subset:
        t["defaults"] = {**t.get("defaults", {}), "subset_per_class": subset}
    methods = sorted({m for run in t["runs"] for m in run["methods"]})
    t["hparams"] = {m: {**(t.get("hparams", {}).get(m) or {}), "lr": lr} for m in methods}
    t["runs"] = [{"methods": methods, "students": STUDENTS, "teachers": TEACHERS}]
    t["batch"] = 7  # runs per job: the runs take seconds, a process start-up several
    t.pop("multi", None)
    cfg.pop("recommend", None)
    cfg.pop("studies", None)
    return cfg


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lrs", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2])
    p.add_argument("--cores", default="all")
    p.add_argument("--base", default=str(REPO / "workflow/config/embedded.yaml"))
    p.add_argument("--subset-per-class", type=int, default=None,
                   help="transfer images per class (default: the base config's transfer.defaults)")
    args = p.parse_args()
    base = yaml.safe_load(Path(args.base).read_text())
    rows, first = [], None
    for lr in args.lrs:
        cfg = sweep_config(base, lr, args.subset_per_class)
        results = REPO / "results" / cfg["name"]
        if first is not None:  # same zoo and logits: only the transfer runs differ
            results.mkdir(parents=True, exist_ok=True)
            for part in ("zoo", "logits"):
                if not (results / part).exists():
                    (results / part).symlink_to(first / part, target_is_directory=True)
        path = REPO / "results" / f"{cfg['name']}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(cfg))
        methods = cfg["transfer"]["runs"][0]["methods"]
        targets = [f"results/{cfg['name']}/transfer/{m}/{t}__{s}/metrics.parquet"
                   for m in methods for s in STUDENTS for t in TEACHERS]
        print(f"sweep: lr {lr:g}: {len(targets)} runs -> {results}", flush=True)
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--configfile", str(path),
                        "-s", str(REPO / "Snakefile"), "--directory", str(REPO), *targets], check=True)
        first = first or results
        for target in targets:
            last = pl.read_parquet(REPO / target).sort("epoch").tail(1)
            rows.append(last.select("method", "teacher", "student", "delta_transf", "mcnemar_p").with_columns(
                pl.lit(lr).alias("lr")))
    runs = pl.concat(rows)
    table = (runs.group_by("method", "lr")
             .agg(mean_delta_transf_pp=100 * pl.col("delta_transf").mean(),
                  success_pct=100 * (pl.col("delta_transf") > 0).mean(),
                  significant_losses=((pl.col("delta_transf") < 0) & (pl.col("mcnemar_p") < 0.05)).sum(),
                  runs=pl.len())
             .sort("method", "lr"))
    chosen = (table.sort(["method", "mean_delta_transf_pp", "lr"], descending=[False, True, False])
              .group_by("method", maintain_order=True).first().select("method", "lr"))
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   tbl_rows=100, float_precision=2):
        print(table.with_columns(pl.col("lr").map_elements(lambda x: f"{x:g}", return_dtype=pl.Utf8)))
        print("chosen:")
        print(chosen.with_columns(pl.col("lr").map_elements(lambda x: f"{x:g}", return_dtype=pl.Utf8)))
    runs.write_csv(REPO / "results" / ("sweep-lr" + (f"-s{args.subset_per_class}" if args.subset_per_class else "") + ".csv"))


if __name__ == "__main__":
    main()
