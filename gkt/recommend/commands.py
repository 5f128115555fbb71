"""`gkt all-pairs`, `gkt recommend`, `gkt probe`, `gkt improve`: which teacher to transfer from
(docs/method.md#teacher-ranking, docs/method.md#probe-ranking).

The stage after transfer: it reads the zoo records, the logits caches and the KL+DP runs of a results
folder (`--results`, default the main data set's: gkt.layout.find_results) and writes under `<results>/recommend/`.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from gkt.args import json_or_file
from gkt.zoo.transforms import add_eval_size
from gkt.layout import RESULTS_HELP
from gkt.recommend.jobs import IMPROVE_RANKERS, PROBE_DIR, PROBE_SHARE, ProbeSpec, probe_candidates

log = logging.getLogger(__name__)

SETTINGS_HELP = ("KL+DP run settings, inline JSON or a YAML file (TransferConfig fields over the paper's defaults, "
                 "e.g. '{\"epochs\": 3, \"subset_per_class\": 100, \"lr\": 0.005}'); subset_per_class and seed pick "
                 "the transfer set on which the DP routing share is counted")
SCORE_HELP = ("Each candidate teacher is scored by its predicted KL+DP transfer delta, a + b1·rho_pos + b2·rho_neg + "
              "b3·dp_route: rho_pos/rho_neg are the pair's positive/negative flip shares on val (what the teacher knows "
              "that the student does not, and the reverse), dp_route the share of the transfer set on which KL+DP "
              "would distil from the teacher (its true-class probability above the frozen student's). The slopes are "
              "a least-squares fit within students to the measured KL+DP runs of the *other* students "
              "(leave-one-student-out: a student's own runs never rank its teachers); with too few runs the score is "
              "rho_pos alone. Why these: KL+DP can only transfer what the teacher knows beyond the student (rho_pos), "
              "learns it only on the samples it routes to the teacher (dp_route), and must protect what the student "
              "knows beyond the teacher (rho_neg). See docs/method.md#teacher-ranking.")


def register(sub) -> None:
    p = sub.add_parser("all-pairs", help="pair statistics of every ordered pair of the zoo (val caches)",
                       description="rho_pos, rho_neg, Cohen's kappa and delta_acc of every ordered pair of zoo models "
                                   "from their val logits caches (docs/method.md#all-pairs).")
    p.add_argument("--results", default=None, help=RESULTS_HELP)
    p.add_argument("--models", nargs="+", default=None, help="zoo models (default: every one with a val cache)")
    p.add_argument("--out", required=True, help="Parquet to write (results/<dataset>/recommend/all_pairs.parquet)")
    p.set_defaults(func=run_all_pairs)

    p = sub.add_parser("recommend", help="rank every zoo model as a KL+DP teacher for a student",
                       description="Rank every other zoo model as a KL+DP teacher for --student, or for every student "
                                   "(--out-ranking, --out-validation). " + SCORE_HELP)
    p.add_argument("--results", default=None, help=RESULTS_HELP)
    p.add_argument("--student", default=None, help="print this student's ranking (default: rank every student)")
    p.add_argument("--top", type=int, default=10, help="teachers to print for --student (default 10)")
    p.add_argument("--settings", type=json_or_file, default=None, help=SETTINGS_HELP)
    p.add_argument("--out-ranking", default=None, help="write every student's ranking (recommend/ranking.parquet)")
    p.add_argument("--out-validation", default=None,
                   help="write the leave-one-student-out validation (recommend/validation.parquet)")
    p.add_argument("--probe", action="store_true",
                   help="with --student: first probe its candidate teachers (short KL+DP runs, as `gkt probe`), then "
                        "rank them by the probes. " + PROBE_HELP)
    _add_probe_args(p, required=False)
    p.set_defaults(func=run_recommend)

    p = sub.add_parser("probe", help="short KL+DP transfers from a student's candidate teachers, read on held-out "
                                     "train images (the probe ranking)", description=PROBE_HELP)
    p.add_argument("--results", default=None, help=RESULTS_HELP)
    p.add_argument("--student", required=True, help="zoo model whose candidate teachers are probed")
    _add_probe_args(p, required=True)
    p.add_argument("--out", default=None, help="the student's probe table (default <results>/recommend/probe/<student>.parquet)")
    p.set_defaults(func=run_probe)

    p = sub.add_parser("improve", help="sequential KL+DP transfer from a student's top-K ranked teachers",
                       description="Transfer into --student from its --teachers K top-ranked teachers one after "
                                   "another (sequential KL+DP, weakest first) and compare with single KL+DP transfer "
                                   "from the top-ranked teacher (docs/method.md#improving-a-student).")
    p.add_argument("--dataset", type=json_or_file, required=True,
                   help="the config's dataset mapping, inline JSON or a YAML file (e.g. '{\"name\": \"mnist5k\"}')")
    p.add_argument("--results", default=None, help=RESULTS_HELP)
    p.add_argument("--student", required=True, help="zoo model to improve")
    p.add_argument("--teachers", type=int, required=True, metavar="K", help="how many top-ranked teachers (2 or more)")
    p.add_argument("--ranker", choices=IMPROVE_RANKERS, default="model",
                   help="whose top K: the fitted score (model, default), the probes (probe: needs the student's probe "
                        "table, `gkt probe`), the most accurate teachers or the highest rho_pos")
    p.add_argument("--settings", type=json_or_file, default=None, help=SETTINGS_HELP)
    p.add_argument("--out", default=None,
                   help="folder of the runs and improve.parquet (default <results>/recommend/improve/<student>__top<K>, "
                        "with __<ranker> for a ranker other than model)")
    add_eval_size(p)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    p.set_defaults(func=run_improve)


PROBE_HELP = ("A probe is the KL+DP run of --settings for --probe-epochs epochs (default: a tenth of the run's), read "
              "on a held-out slice of the transfer split (--probe-holdout images per class of the train split outside "
              "the transfer set, or taken out of it when it is the whole split), never on val. Score: the probe's "
              "delta_transf on the slice. Candidates: --probe-teachers, else the top --probe-top of the fitted "
              "ranking, else every trained zoo model but the student. Finished probes are reused. See "
              "docs/method.md#probe-ranking.")


def _add_probe_args(p, required: bool) -> None:
    p.add_argument("--dataset", type=json_or_file, required=required,
                   help="the config's dataset mapping, inline JSON or a YAML file (e.g. '{\"name\": \"mnist5k\"}')"
                        + ("" if required else "; needed with --probe"))
    if required:
        p.add_argument("--settings", type=json_or_file, default=None, help=SETTINGS_HELP)
    p.add_argument("--probe-teachers", nargs="+", default=None, help="the candidate teachers to probe")
    p.add_argument("--probe-top", type=int, default=None, help="probe the top N of the fitted ranking")
    p.add_argument("--probe-epochs", type=int, default=None,
                   help=f"a probe's epochs (default: {PROBE_SHARE:.0%} of the run's, at least 1)")
    p.add_argument("--probe-holdout", type=int, default=ProbeSpec.holdout_per_class,
                   help=f"held-out train images per class the probes are read on (default {ProbeSpec.holdout_per_class})")
    add_eval_size(p)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")


def probe_student(args, results: Path):
    """Run (or reuse) the probes of args.student's candidates; returns the probe table's path."""
    import polars as pl

    from gkt.data.factory import get_dataset
    from gkt.device import setup_torch
    from gkt.io import write_parquet
    from gkt.recommend.features import zoo_records
    from gkt.recommend.improve import kl_dp_settings
    from gkt.recommend.probe import run_probes
    from gkt.transfer.run import Inputs

    cfg = kl_dp_settings(args.settings)
    spec = ProbeSpec.of({"epochs": args.probe_epochs, "holdout_per_class": args.probe_holdout, "top": args.probe_top},
                        cfg.epochs, {"epochs": "--probe-epochs", "holdout_per_class": "--probe-holdout", "top": "--probe-top"})
    records = zoo_records(results)
    trained = [name for name, r in records.items() if r.source != "random"]
    teachers = probe_candidates(args.student, trained, [n for n in records if n not in trained], args.probe_teachers,
                                spec.top, {"student": "--student", "teachers": "--probe-teachers",
                                           "both": "give --probe-teachers or --probe-top, not both"})
    if teachers is None and spec.top:
        ranking, _ = ranking_of(results, args.settings, [args.student])
        teachers = ranking.filter((pl.col("student") == args.student) & pl.col("rank").is_not_null()
                                  & ~pl.col("teacher_is_control")).sort("rank")["teacher"].head(spec.top).to_list()
    elif teachers is None:
        teachers = [t for t in trained if t != args.student]
    inputs = Inputs(get_dataset(args.dataset), results / "zoo", results / "logits", setup_torch(args.threads),
                    eval_size=args.eval_size)
    table = run_probes(inputs, cfg, spec, args.student, teachers, results / PROBE_DIR)
    out = Path(getattr(args, "out", None) or results / PROBE_DIR / f"{args.student}.parquet")
    write_parquet(table, out)
    log.info("%d probes of %s written to %s", table.num_rows, args.student, out)
    return out


def run_probe(args) -> None:
    from gkt.layout import find_results

    probe_student(args, find_results(args.results))


def run_all_pairs(args) -> None:
    from gkt.complementary.stats import all_pairs_table
    from gkt.io import write_parquet
    from gkt.layout import find_results
    from gkt.recommend.features import val_pair_stats, zoo_records

    results = find_results(args.results)
    models, stats = val_pair_stats(results, args.models)
    records = zoo_records(results)
    table = all_pairs_table(stats, models, {m for m in models if records[m].source == "random"})
    write_parquet(table, args.out)
    log.info("statistics of all %d ordered pairs of %d models written to %s", table.num_rows, len(models), args.out)


def ranking_of(results: Path, settings: dict | None, students: list[str] | None = None):
    """(ranking, measured runs) of `students` (default: all) of a results folder."""
    import polars as pl

    from gkt.recommend.features import measured_runs, pair_features
    from gkt.recommend.improve import kl_dp_settings
    from gkt.recommend.model import rank_teachers
    from gkt.recommend.probe import read_probes

    cfg = kl_dp_settings(settings)
    measured = measured_runs(results)
    if students is not None:  # the ranked students and those whose runs fit the model
        students = list(dict.fromkeys([*students, *measured["student"].unique().sort().to_list()]))
    features = pair_features(results, students, cfg.subset_per_class, cfg.seed)
    ranking = rank_teachers(features, measured, read_probes(results))
    return (ranking if students is None else ranking.filter(pl.col("student").is_in(students))), measured


def _to_table(df, schema):
    return df.select(schema.names).to_arrow().cast(schema)


def run_recommend(args) -> None:
    from gkt.errors import GktError
    from gkt.io import write_parquet
    from gkt.layout import find_results
    from gkt.recommend.model import summary, validate
    from gkt.recommend.schemas import RANKING_SCHEMA, VALIDATION_SCHEMA

    results = find_results(args.results)
    if args.top < 1:
        raise GktError(f"--top {args.top}: give the number of teachers to print, 1 or more")
    if args.probe:
        if args.student is None or args.dataset is None:
            raise GktError("--probe probes one student's teachers: give --student and --dataset")
        probe_student(args, results)
    whole = args.student is None or args.out_ranking or args.out_validation
    ranking, _ = ranking_of(results, args.settings, None if whole else [args.student])
    if args.out_ranking:
        write_parquet(_to_table(ranking, RANKING_SCHEMA), args.out_ranking)
        log.info("ranking of %d students' teachers written to %s", ranking["student"].n_unique(), args.out_ranking)
    if whole:
        validation = validate(ranking)
        if args.out_validation:
            write_parquet(_to_table(validation, VALIDATION_SCHEMA), args.out_validation)
            log.info("validation written to %s", args.out_validation)
        if args.student is None:
            print(summary(validation))
    if args.student is not None:
        sys.stdout.write(format_ranking(ranking, args.student, args.top, by_probe=args.probe))


def format_ranking(ranking, student: str, top: int, by_probe: bool = False) -> str:
    """The printed ranking of one student: what the score is, then its top teachers (`by_probe`: in the
    order of their probes' delta_transf)."""
    import polars as pl

    from gkt.text import format_table
    from gkt.errors import GktError
    from gkt.recommend.model import FEATURES

    rows = ranking.filter(pl.col("student") == student)
    if rows.is_empty():
        raise GktError(f"no ranking for student {student!r}: it is a random-init control or has no val logits cache")
    first = rows.row(0, named=True)
    if first["scorer"] == "fit":
        terms = " ".join(f"{first[f'coef_{c}']:+.4f}·{c}" for c in FEATURES)
        how = (f"score = predicted KL+DP delta_transf = {first['intercept']:+.4f} {terms}, fitted within students on "
               f"{first['fit_runs']} KL+DP runs of {first['fit_students']} other students (none of {student}'s)")
    else:
        how = "score = rho_pos (too few KL+DP runs of other students to fit the predicted delta_transf)"
    shown = rows.filter(pl.col("rank").is_not_null())
    if by_probe:
        shown = rows.filter(pl.col("probe_delta_transf").is_not_null()).sort(
            ["probe_delta_transf", "teacher"], descending=[True, False]).with_columns(
            probe_rank=pl.int_range(1, pl.len() + 1))
        how = ("order = the probes' delta_transf on held-out train images (probe_pp; docs/method.md#probe-ranking); "
               "rank = the fitted " + how)
    shown = shown.head(top)
    pp = 100 * pl.col("predicted_delta_transf")
    table = shown.select(
        *(["probe_rank", (100 * pl.col("probe_delta_transf")).round(2).alias("probe_pp")] if by_probe else []),
        "rank", "teacher",
        predicted_pp=pl.when(pp.round(2) == 0).then(0.0).otherwise(pp.round(2)),  # no "-0" for tiny negatives
        rho_pos_pct=(100 * pl.col("rho_pos")).round(1), rho_neg_pct=(100 * pl.col("rho_neg")).round(1),
        dp_route_pct=(100 * pl.col("dp_route")).round(1), teacher_acc_pct=(100 * pl.col("acc_t")).round(1),
        measured_pp=(100 * pl.col("measured_delta_transf")).round(2))
    unranked = rows.filter(pl.col("rank").is_null())["teacher"].to_list()
    lines = [f"{student} (val top-1 {100 * first['acc_s']:.1f} %): {rows.height - len(unranked)} ranked teachers; {how}",
             format_table(table, "table").rstrip("\n")]
    if unranked:
        lines.append(f"not ranked, no DP routing share (train-split logits cache missing): {', '.join(unranked)}")
    return "\n".join(lines) + "\n"


def run_improve(args) -> None:
    from gkt.io import write_parquet
    from gkt.layout import find_results
    from gkt.recommend.improve import improve, kl_dp_settings
    from gkt.recommend.jobs import improve_folder

    results = find_results(args.results)
    cfg = kl_dp_settings(args.settings)
    ranking, measured = ranking_of(results, args.settings, [args.student])
    out = Path(args.out) if args.out else results / "recommend" / "improve" / improve_folder(
        args.student, args.teachers, args.ranker)
    row = improve(results, args.dataset, cfg, args.student, args.teachers, ranking, measured, out, args.threads,
                  args.eval_size, ranker=args.ranker)
    write_parquet(row, out / "improve.parquet")
    r = row.to_pylist()[0]
    print(f"{r['student']}: sequential KL+DP from its top {r['k']} teachers by {r['ranker']} ({r['order_used'].replace('+', ' -> ')}) "
          f"delta_transf {100 * r['sequential_delta_transf']:+.2f} pp; single KL+DP from the top-ranked "
          f"{r['top_teacher']} {100 * r['top_single_delta_transf']:+.2f} pp; gain {100 * r['gain_over_top_single']:+.2f} pp "
          f"({out / 'improve.parquet'})")
