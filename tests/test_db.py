"""The results database (gkt.db): views over outputs written by the pipeline's own writers.

`make_results` writes a small results folder through the real writers of every stage (zoo records,
logits caches, pair statistics, semantic similarity, transfer metrics); tests/test_figures.py
renders every figure from it.
"""
from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gkt.errors import GktError

C, N = 20, 1000  # classes, val samples (50 per class)
# name, family, arch_family, params, accuracy
MODELS = [
    ("cnn_s", "cnn", "resnet", 300_000, 0.70),
    ("cnn_m", "cnn", "resnet", 1_200_000, 0.78),
    ("cnn_l", "cnn", "convnext", 5_000_000, 0.86),
    ("vit_s", "transformer", "vit", 500_000, 0.73),
    ("vit_l", "transformer", "vit", 4_000_000, 0.89),
    ("mixer", "mlp", "mixer", 800_000, 0.66),
    ("hybrid", "hybrid", "coatnet", 2_000_000, 0.81),
]
CONTROL = "control"
STUDENTS = ["cnn_s", "vit_s", "cnn_l", "vit_l", "mixer"]
METHODS = ["kl", "xekl", "xekl_ls", "kl_topk", "xekl_mcl", "kl_dp", "kl_dp_unsup", "cd", "crd"]
# share of positive flips gained and of right samples lost by the end of a run, per method
RATES = {"kl": (0.55, 0.10), "xekl": (0.5, 0.08), "xekl_ls": (0.5, 0.06), "kl_topk": (0.5, 0.09),
         "xekl_mcl": (0.3, 0.02), "kl_dp": (0.4, 0.012), "kl_dp_unsup": (0.38, 0.015), "cd": (0.45, 0.15),
         "crd": (0.45, 0.14)}
EPOCHS = 3
MULTI = {  # objective -> (student, teachers)
    "kl_dp": ("vit_s", ["cnn_m", "cnn_l", "hybrid"]),
    "kl": ("cnn_s", ["mixer", "vit_s", "hybrid"]),
}


def _predictions(rng, labels, acc_per_class):
    right = rng.random(len(labels)) < acc_per_class[labels]
    wrong = (labels + rng.integers(1, C, len(labels))) % C
    return np.where(right, labels, wrong)


def _logits(rng, pred):
    z = rng.normal(0, 0.5, (len(pred), C)).astype(np.float32)
    z[np.arange(len(pred)), pred] += 4.0
    return z


def _transfer_rows(keys, labels, s_pred, t_preds, method, rng, epochs=EPOCHS, hp=None, start=0):
    """Epoch rows (through gkt.transfer.metrics.transfer_metrics) and the final predictions."""
    from gkt.transfer.metrics import transfer_metrics

    gain_rate, loss_rate = RATES[method]
    weaker = max(0.0, float((s_pred == labels).mean() - (t_preds == labels).mean(1).max()))
    if method not in ("kl_dp", "kl_dp_unsup", "xekl_mcl"):
        loss_rate += 0.6 * weaker  # plain distillation overwrites more with weaker teachers
    pos = (t_preds == labels).any(0) & (s_pred != labels)
    u_gain, u_loss = rng.random(len(labels)), rng.random(len(labels))
    dp = method in ("kl_dp", "kl_dp_unsup")
    rows, pred = [], s_pred
    for epoch in range(start, epochs + 1):
        f = epoch / epochs
        pred = s_pred.copy()
        pred[pos & (u_gain < gain_rate * f)] = labels[pos & (u_gain < gain_rate * f)]
        lost = (s_pred == labels) & (u_loss < loss_rate * f)
        pred[lost] = (labels[lost] + 1) % C
        shares = (0.72 + rng.normal(0, 0.03), 0.09 + rng.normal(0, 0.02)) if dp and epoch > 0 else (math.nan, math.nan)
        rows.append({**keys, "epoch": epoch, **transfer_metrics(labels, s_pred, pred, t_preds),
                     "dp_pos_to_teacher": shares[0], "dp_neg_to_teacher": shares[1], "seconds": 1.5,
                     **(hp or {"lr": 1e-4, "temperature": 1.0, "lam": 1.0})})
    return rows, pred


def make_results(root: Path, dataset: str = "toyset", *, complementary=True, transfer=True, domain_shift=False,
                 methods=METHODS, multi=True, seed=0) -> Path:
    """A results folder written by the pipeline's own writers: zoo records, val logits caches,
    pair statistics (+ semantic), single- and multi-teacher transfer runs. With `domain_shift`, the
    zoo record of teacher `hybrid` names another dataset (a domain-shifted teacher, Fig. 10)."""
    from gkt.complementary.pairs import PairSpec, sample_pairs, write_pair_list
    from gkt.complementary.semantic import embeddings_table, read_per_class, semantic_table
    from gkt.complementary.stats import pair_stats, pairs_table, per_class_table, stack_predictions
    from gkt.io import write_json, write_parquet
    from gkt.logits.cache import read_predictions, write_logits
    from gkt.transfer.metrics import per_class_transfer, write_metrics, write_per_class
    from gkt.zoo.store import ModelRecord

    rng = np.random.default_rng(seed)
    results = Path(root) / "results" / dataset
    labels = np.repeat(np.arange(C), N // C)
    names = [f"class_{c:02d}" for c in range(C)]
    preds = {}
    for name, family, arch_family, params, acc in MODELS + [(CONTROL, "cnn", "resnet", 300_000, 1.0 / C)]:
        per_class = np.clip(acc + rng.normal(0, 0.12, C), 0.02, 0.99) if name != CONTROL else np.full(C, 1.0 / C)
        pred = _predictions(rng, labels, per_class)
        path = results / "logits" / "val" / f"{name}.parquet"
        write_logits(path, _logits(rng, pred), labels, {"model": name, "architecture": arch_family,
                                                        "dataset": dataset, "split": "val", "transform": {},
                                                        "weights_hash": name})
        cache = read_predictions(path, num_classes=C)
        preds[name] = cache
        record = ModelRecord(name=name, arch=arch_family, source="random" if name == CONTROL else "train",
                             family=family, arch_family=arch_family, params=params, num_classes=C,
                             dataset="infograph" if (domain_shift and name == "hybrid") else dataset,
                             weights_hash=name, top1=cache.top1, kwargs={"depth": 2}, recipe={"epochs": 1})
        write_json(asdict(record), results / "zoo" / f"{name}.json")

    models = [m[0] for m in MODELS] + [CONTROL]
    if complementary:
        comp = results / "complementary"
        spec = PairSpec(n=None)
        pairs = sample_pairs(models, CONTROL, spec)
        write_pair_list(pairs, CONTROL, spec, comp / "pair_list.parquet")
        matrix, labels_ = stack_predictions(preds)
        index = {m: i for i, m in enumerate(preds)}
        stats = pair_stats(matrix, labels_, [(index[t], index[s]) for t, s in pairs], C)
        write_parquet(pairs_table(stats, pairs, CONTROL), comp / "pairs.parquet")
        write_parquet(per_class_table(stats, pairs, names), comp / "per_class.parquet")
        emb = rng.normal(0, 1, (C, 16)).astype(np.float32)
        emb[: C // 2] += 1.5  # half the classes form a semantic cluster
        write_parquet(embeddings_table(names, emb, "test-encoder"), comp / "class_embeddings.parquet")
        write_parquet(semantic_table(read_per_class(comp / "per_class.parquet"), names, emb, "test-encoder"),
                      comp / "semantic.parquet")

    if transfer:
        out = results / "transfer"
        teachers = [m[0] for m in MODELS]
        for method in methods:
            for student in STUDENTS:
                for teacher in teachers:
                    if teacher == student:
                        continue
                    keys = {"method": method, "objective": method, "teacher": teacher, "student": student}
                    s_pred, t_preds = preds[student].pred, preds[teacher].pred[None]
                    rows, final = _transfer_rows(keys, labels, s_pred, t_preds, method, rng)
                    run = out / method / f"{teacher}__{student}"
                    write_metrics(rows, run / "metrics.parquet")
                    write_per_class(per_class_transfer(labels, s_pred, final, t_preds, C), run / "per_class.parquet")
        for objective, (student, ts) in (MULTI if multi else {}).items():
            s_pred, t_preds = preds[student].pred, np.stack([preds[t].pred for t in ts])
            joined = "+".join(ts)
            modes = ["multi_sequential", "multi_parallel", "multi_soup", "multi_soup_greedy"]
            for mode in modes:
                keys = {"method": mode, "objective": objective, "teacher": joined, "student": student}
                if mode == "multi_sequential":
                    epochs = EPOCHS * len(ts)
                    rows, final = _transfer_rows(keys, labels, s_pred, t_preds, objective, rng, epochs=epochs)
                elif mode == "multi_parallel":
                    rows, final = _transfer_rows(keys, labels, s_pred, t_preds, objective, rng)
                else:  # a soup has the initial and the final row only, no DP shares
                    rows, final = _transfer_rows(keys, labels, s_pred, t_preds, objective, rng)
                    rows = [{**r, "dp_pos_to_teacher": math.nan, "dp_neg_to_teacher": math.nan}
                            for r in (rows[0], rows[-1])]
                run = out / mode / f"{joined}__{student}"
                write_metrics(rows, run / "metrics.parquet")
                write_per_class(per_class_transfer(labels, s_pred, final, t_preds, C), run / "per_class.parquet")
                if mode == "multi_soup":
                    for t in ts:
                        keys = {"method": objective, "objective": objective, "teacher": t, "student": student}
                        rows, _ = _transfer_rows(keys, labels, s_pred, preds[t].pred[None], objective, rng)
                        write_metrics(rows, run / "ingredients" / t / "metrics.parquet")
    return results


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory) -> Path:
    """Written once per test session, shared with tests/test_figures.py (which imports this fixture,
    so pytest sees two definitions: the marker file makes the second one reuse the first's files)."""
    root = tmp_path_factory.getbasetemp() / "gktdb-shared"
    done = root / "complete"
    if not done.exists():
        if root.exists():
            shutil.rmtree(root)
        make_results(root, domain_shift=True)
        done.touch()
    return root / "results" / "toyset"


@pytest.fixture(scope="session")
def results_db(results_dir) -> Path:
    from gkt.db.build import build_database

    return build_database(results_dir)


def _q(db, sql):
    from gkt.db.build import connect

    con = connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_views_are_documented_and_read_the_files(results_db, results_dir):
    rows = dict(_q(results_db, "SELECT view, files FROM gkt_views"))
    assert rows["models"] == 8 and rows["pairs"] == 1 and rows["transfer_metrics"] > 100
    for view in ("models", "pairs", "per_class", "semantic", "class_embeddings", "classes", "transfer_metrics",
                 "transfer_per_class", "transfer_final", "transfer_datasets"):
        comment = _q(results_db, f"SELECT comment FROM duckdb_views() WHERE view_name = '{view}'")[0][0]
        assert comment and "Columns:" in comment, view
    # The views show the files: counts agree with the Parquet files themselves.
    pairs = pq.read_table(results_dir / "complementary" / "pairs.parquet")
    assert _q(results_db, "SELECT count(*) FROM pairs")[0][0] == pairs.num_rows
    runs = list((results_dir / "transfer").glob("*/*/metrics.parquet"))
    assert _q(results_db, "SELECT count(*) FROM transfer_final")[0][0] == len(runs)
    # The database holds no data: views only, a small file.
    assert results_db.stat().st_size < 2_000_000


def test_transfer_final_matches_the_last_epoch(results_db, results_dir):
    run = results_dir / "transfer" / "kl_dp" / "cnn_m__vit_s"
    metrics = pq.read_table(run / "metrics.parquet").to_pylist()
    last, first = metrics[-1], metrics[0]
    (row,) = _q(results_db, """SELECT epochs, delta_transf, gain - loss, rho_pos_initial, student_family,
                                      student_params, teacher_top1, success, transfer_rate, objective
                               FROM transfer_final WHERE run = 'kl_dp/cnn_m__vit_s'""")
    assert row[0] == EPOCHS and row[1] == pytest.approx(last["delta_transf"]) and row[2] == pytest.approx(row[1])
    assert row[3] == pytest.approx(first["rho_pos"]) and row[4] == "transformer" and row[5] == 500_000
    assert row[7] == (last["delta_transf"] > 0) and row[9] == "kl_dp"
    pc = pq.read_table(run / "per_class.parquet")
    assert row[8] == pytest.approx(sum(pc["transferred"].to_pylist()) / sum(pc["pos_flips"].to_pylist()))
    # The objective is the loss the transfer writer recorded: the method for single-teacher runs, the
    # loss of the multi-teacher run (MULTI) for every multi-teacher mode.
    rows = _q(results_db, "SELECT run, method, objective, is_multi FROM transfer_final")
    single = {run: (method, objective) for run, method, objective, is_multi in rows if not is_multi}
    assert len(single) > 100 and all(objective == method for method, objective in single.values())
    multi = {run: objective for run, _, objective, is_multi in rows if is_multi}
    expected = {f"{mode}/{'+'.join(ts)}__{student}": loss for loss, (student, ts) in MULTI.items()
                for mode in ("multi_sequential", "multi_parallel", "multi_soup", "multi_soup_greedy")}
    assert multi == expected
    recorded = _q(results_db, "SELECT DISTINCT objective FROM transfer_metrics WHERE is_multi")
    assert set(recorded) == {("kl_dp",), ("kl",)}


def test_top_x_sets_of_transfer_runs_match_the_semantic_stage(results_db):
    """transfer_per_class's ranking gives the same top-X % class counts as gkt semantic's k."""
    rows = _q(results_db, """
        WITH xs AS (SELECT DISTINCT x FROM semantic),
        k AS (SELECT c.teacher, c.student, xs.x, count(*) FILTER (WHERE 100 * c.flips_before < xs.x * c.flips_total) AS k
              FROM transfer_per_class c CROSS JOIN xs WHERE c.method = 'kl' GROUP BY ALL)
        SELECT k.k, s.k FROM k JOIN semantic s USING (teacher, student, x)""")
    assert len(rows) > 50 and all(a == b for a, b in rows)


def test_paths_are_relative_to_the_database_folder(results_db, results_dir, tmp_path, monkeypatch):
    moved = tmp_path / "moved" / "toyset"
    shutil.copytree(results_dir, moved)
    monkeypatch.chdir(tmp_path)  # another working directory: the views still find their files
    assert _q(moved / "gkt.duckdb", "SELECT count(*) FROM models")[0][0] == 8
    sql = _q(moved / "gkt.duckdb", "SELECT sql FROM duckdb_views() WHERE view_name = 'pairs'")[0][0]
    assert "'complementary/pairs.parquet'" in sql and str(results_dir) not in sql


def test_missing_stages_give_empty_typed_views(tmp_path):
    from gkt.db.build import build_database

    results = make_results(tmp_path, "early", complementary=False, transfer=False)
    db = build_database(results)
    assert _q(db, "SELECT count(*) FROM models")[0][0] == 8
    assert _q(db, "SELECT count(*), sum(delta_transf) FROM transfer_final")[0] == (0, None)
    assert _q(db, "SELECT files FROM gkt_views WHERE view = 'transfer_metrics'")[0][0] == 0
    types = dict(_q(db, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'pairs'"))
    assert types["rho_pos"] == "DOUBLE" and types["teacher_is_control"] == "BOOLEAN" and types["n"] == "INTEGER"
    for view in ("transfer_metrics", "transfer_final"):  # from the writer's schema, objective included
        types = dict(_q(db, f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '{view}'"))
        assert types["objective"] == "VARCHAR" and types["method"] == "VARCHAR", view
    comment = _q(db, "SELECT comment FROM duckdb_views() WHERE view_name = 'transfer_metrics'")[0][0]
    assert "EMPTY until stage transfer" in comment


def test_rebuild_replaces_atomically(results_dir, tmp_path):
    from gkt.db.build import build_database

    out = tmp_path / "db" / "gkt.duckdb"
    build_database(results_dir, out)
    first = out.stat().st_ino
    build_database(results_dir, out)
    assert out.stat().st_ino != first  # a new file renamed over the old one
    assert sorted(p.name for p in out.parent.iterdir()) == ["gkt.duckdb"]  # no temp or WAL files left
    assert _q(out, "SELECT count(*) FROM pairs")[0][0] > 0  # relative to the database's own folder


class Proc:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def gkt(capsys):
    """Run the gkt command line in-process: gkt(*args) -> Proc(returncode, stdout, stderr)."""
    from gkt.cli import main

    def run(*args):
        capsys.readouterr()
        rc = main(list(args))
        out = capsys.readouterr()
        return Proc(rc, out.out, out.err)

    return run


def test_query_cli_formats_and_errors(results_db, tmp_path, gkt, monkeypatch):
    sql = "SELECT method, count(*) AS runs FROM transfer_final WHERE NOT is_multi GROUP BY method ORDER BY method"
    out = gkt("query", sql, "--db", str(results_db))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split() == ["method", "runs"] and "(9 rows)" in out.stdout
    js = json.loads(gkt("query", sql, "--db", str(results_db), "--format", "json").stdout)
    assert js[0] == {"method": "cd", "runs": 30}
    csv = gkt("query", sql, "--db", str(results_db), "--format", "csv").stdout
    assert csv.splitlines()[:2] == ["method,runs", "cd,30"]
    target = tmp_path / "q.parquet"
    assert gkt("query", sql, "--db", str(results_db), "--format", "parquet", "--out", str(target)).returncode == 0
    assert pq.read_table(target).num_rows == 9

    bad = gkt("query", "SELECT nope FROM pairs", "--db", str(results_db))
    assert bad.returncode == 2 and bad.stderr.startswith("gkt: error: query failed") and len(bad.stderr.splitlines()) == 1
    ro = gkt("query", "DROP VIEW pairs", "--db", str(results_db))
    assert ro.returncode == 2 and "read-only" in ro.stderr
    monkeypatch.chdir(tmp_path)
    none = gkt("query", "SELECT 1")
    assert none.returncode == 2 and "no database found" in none.stderr
    # The default database: the only results/*/gkt.duckdb under the working directory.
    monkeypatch.chdir(results_db.parents[2])
    assert gkt("query", "SELECT count(*) AS n FROM models").stdout.split()[2] == "8"


def test_db_cli_and_bad_results_folder(results_dir, tmp_path, gkt):
    out = tmp_path / "x.duckdb"
    proc = gkt("db", "--results", str(results_dir), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.exists()
    bad = gkt("db", "--results", str(tmp_path / "missing"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def test_query_helper_raises_gkt_error(results_db):
    from gkt.db.commands import query

    assert query("SELECT count(*) AS n FROM models", results_db).to_pylist() == [{"n": 8}]
    with pytest.raises(GktError, match="query failed"):
        query("SELEC 1", results_db)
    assert pa.types.is_floating(query("SELECT delta_acc FROM transfer_final", results_db).schema.field(0).type)
