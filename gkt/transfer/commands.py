"""`gkt transfer`, `gkt transfer-multi`, `gkt transfer-plan`: the paper's §4–5 transfer runs.

Each command maps 1:1 onto a Snakemake rule; heavy imports happen inside the handlers so that
`gkt --help` stays fast.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from gkt.args import add_common, json_or_file
from gkt.zoo.transforms import add_eval_size
from gkt.transfer import vocabulary as vocab

log = logging.getLogger(__name__)


def _common(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--zoo-dir", required=True, help="zoo folder (results/<dataset>/zoo)")
    p.add_argument("--logits-dir", default=None,
                   help="logits cache folder (results/<dataset>/logits): cached train targets and val predictions")
    add_eval_size(p)
    p.add_argument("--method", required=True, help=f"transfer method: {', '.join(sorted(vocab.CARDS))}, or any of them "
                   f"+ {vocab.MCL_SUFFIX} (e.g. xekl{vocab.MCL_SUFFIX})")
    p.add_argument("--student", required=True, help="zoo model that receives the knowledge")
    p.add_argument("--out", required=True, help="result folder (results/<dataset>/transfer/<method>/<teacher>__<student>)")
    p.add_argument("--settings", type=json_or_file, default=None,
                   help="run settings, inline JSON or YAML file (TransferConfig fields; default: the paper's "
                        "for --method, docs/method.md#per-method-hyperparameters)")
    p.add_argument("--epochs", type=int, default=None, help="override the epoch budget")
    p.add_argument("--batch-size", type=int, default=None, help="override the batch size")
    p.add_argument("--lr", type=float, default=None, help="override the learning rate")
    p.add_argument("--targets", choices=vocab.TARGET_MODES, default=None,
                   help="teacher targets computed once and reused (cached) or forwarded every step (live)")


def register(sub) -> None:
    p = sub.add_parser("transfer", help="transfer knowledge from a teacher to a student (one method, one pair)")
    _common(p)
    p.add_argument("--teacher", required=True, help="zoo model that gives the knowledge")
    p.set_defaults(func=run_single)

    p = sub.add_parser("transfer-batch", help="several single-teacher transfer runs in one process",
                       description="Run several single-teacher transfers one after the other in one process, each "
                                   "exactly as `gkt transfer` would (same outputs, same checkpoints): on small "
                                   "models the process start-up (importing torch and timm, seconds) costs more "
                                   "than a run, and models shared by the runs are loaded once.")
    add_common(p)
    p.add_argument("--zoo-dir", required=True, help="zoo folder (results/<dataset>/zoo)")
    p.add_argument("--logits-dir", default=None, help="logits cache folder (results/<dataset>/logits)")
    add_eval_size(p)
    p.add_argument("--runs", type=json_or_file, required=True,
                   help="JSON list of runs: {method, teacher, student, settings, out} (settings: TransferConfig fields)")
    p.set_defaults(func=run_batch)

    p = sub.add_parser("transfer-multi", help="multi-teacher transfer: sequential, parallel or soup")
    _common(p)
    p.add_argument("--mode", required=True, choices=vocab.MULTI_MODES)
    p.add_argument("--teachers", nargs="+", required=True, help="two or more zoo models")
    p.add_argument("--order", choices=vocab.ORDERS, default=vocab.MULTI_ORDER,
                   help="sequential: teachers by val accuracy, weakest first (ascending) or strongest first")
    p.add_argument("--holdout", type=float, default=vocab.MULTI_HOLDOUT,
                   help="soup: held-out share of the transfer set for the greedy soup")
    p.add_argument("--out-greedy", default=None, help=f"soup: result folder of the greedy soup (mode {vocab.GREEDY_SOUP})")
    p.set_defaults(func=run_multi)

    p = sub.add_parser("transfer-plan", help="draw the random (teacher, student) pairs of transfer.runs from pair statistics")
    p.add_argument("--transfer", type=json_or_file, required=True, help="the config's transfer section (inline JSON or file)")
    p.add_argument("--pairs", required=True, help="pairs.parquet written by `gkt complementary`")
    p.add_argument("--models", nargs="+", required=True, help="zoo model names")
    p.add_argument("--out", required=True, help="JSON list of planned jobs")
    p.set_defaults(func=run_plan)


def _settings(args):
    """The run's settings: the method's defaults (`resolve`), else `--settings`, under the options given."""
    from gkt.errors import GktError
    from gkt.transfer.settings import TransferConfig, resolve

    given = dataclasses.asdict(resolve(args.method)) if args.settings is None else dict(args.settings)
    if given.setdefault("method", args.method) != args.method:
        raise GktError(f"--settings is for method {given['method']!r} but --method is {args.method!r}: make them agree")
    options = {key: getattr(args, key) for key in ("epochs", "batch_size", "lr", "targets") if getattr(args, key) is not None}
    return TransferConfig.from_dict({**given, **options}, lambda key: f"--{key.replace('_', '-')}" if key in options
                                    else f"--settings.{key}" if args.settings is not None else f"method {args.method}'s {key}")


def _inputs(args):
    from gkt.data.factory import get_dataset
    from gkt.device import setup_torch
    from gkt.transfer.run import Inputs

    device = setup_torch(args.threads)
    return Inputs(get_dataset(args.dataset), Path(args.zoo_dir), Path(args.logits_dir) if args.logits_dir else None, device,
                  eval_size=args.eval_size)


def run_single(args) -> None:
    from gkt.transfer.run import run_transfer

    cfg = _settings(args)
    run_transfer(_inputs(args), cfg, args.student, [args.teacher], args.out)


def run_batch(args) -> None:
    from tqdm.auto import tqdm

    from gkt.errors import GktError
    from gkt.transfer.run import run_transfer
    from gkt.transfer.settings import TransferConfig

    runs = args.runs if isinstance(args.runs, list) else None
    if not runs or not all(isinstance(r, dict) and {"method", "teacher", "student", "out"} <= set(r) for r in runs):
        raise GktError("--runs must be a JSON list of {method, teacher, student, settings, out} objects")
    inputs = _inputs(args)  # one Inputs: every zoo model is loaded once for all runs
    for i, r in enumerate(tqdm(runs, desc="transfer runs", unit="run", disable=None)):
        cfg = TransferConfig.from_dict({**(r.get("settings") or {}), "method": r["method"]}, f"--runs[{i}].settings")
        log.info("run %s -> %s", vocab.run_path(r["method"], r["teacher"], r["student"]), r["out"])
        run_transfer(inputs, cfg, r["student"], [r["teacher"]], r["out"])


def run_multi(args) -> None:
    from gkt.transfer.multi import run_multi as run

    cfg = _settings(args)
    run(_inputs(args), cfg, args.mode, args.student, args.teachers, args.out, order=args.order,
        holdout=args.holdout, greedy_dir=args.out_greedy)


def run_plan(args) -> None:
    import polars as pl

    from gkt.io import read_parquet, write_json
    from gkt.transfer.jobs import planned_jobs

    pairs = pl.from_arrow(read_parquet(args.pairs, "pair statistics", missing="run the complementary stage first",
                                       damaged="delete it and rerun the complementary stage"))
    jobs = planned_jobs(args.transfer, pairs, args.models)
    write_json([{"method": j.method, "teacher": j.teacher, "student": j.student} for j in jobs], args.out)
    log.info("%d planned transfer jobs written to %s", len(jobs), args.out)
