"""The results database (gkt.db): views over outputs written by the pipeline's own writers.

`make_results` (tests/helpers.py) writes a small results folder through the real writers of every
stage (zoo records, logits caches, pair statistics, semantic similarity, transfer metrics); the
`results_dir` fixture (tests/conftest.py) holds one, which tests/test_figures.py also renders every
figure from.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import math

import polars as pl
import pyarrow.parquet as pq
import pytest

from gkt.errors import GktError
from tests.helpers import EPOCHS, MULTI, make_results


@pytest.fixture(scope="session")
def results_db(results_dir) -> Path:
    from gkt.db.build import build_database

    return build_database(results_dir)


def _q(db, sql):
    from gkt.db.read import connect

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
                                      student_params, teacher_top1, success, transfer_rate, method
                               FROM transfer_final WHERE run = 'kl_dp/cnn_m__vit_s'""")
    assert row[0] == EPOCHS and row[1] == pytest.approx(last["delta_transf"]) and row[2] == pytest.approx(row[1])
    assert row[3] == pytest.approx(first["rho_pos"]) and row[4] == "transformer" and row[5] == 500_000
    assert row[7] == (last["delta_transf"] > 0) and row[9] == "kl_dp"
    pc = pq.read_table(run / "per_class.parquet")
    assert row[8] == pytest.approx(sum(pc["transferred"].to_pylist()) / sum(pc["pos_flips"].to_pylist()))
    # One word per idea: `method` is the loss of every run (a multi-teacher run's as its metrics record it,
    # MULTI), `mode` how a multi-teacher run combines its teachers (NULL for single-teacher runs).
    rows = _q(results_db, "SELECT run, method, mode, is_multi FROM transfer_final")
    single = {run: (method, mode) for run, method, mode, is_multi in rows if not is_multi}
    assert len(single) > 100 and all(run.split("/")[0] == method and mode is None
                                     for run, (method, mode) in single.items())
    multi = {run: (method, mode) for run, method, mode, is_multi in rows if is_multi}
    expected = {f"multi_{mode}-{loss}/{'+'.join(ts)}__{student}": (loss, mode) for loss, (student, ts) in MULTI.items()
                for mode in ("sequential", "parallel", "soup", "soup_greedy")}
    assert multi == expected
    assert set(_q(results_db, "SELECT DISTINCT method FROM transfer_metrics WHERE is_multi")) == {("kl_dp",), ("kl",)}
    assert _q(results_db, "SELECT count(*) FROM transfer_per_class WHERE (mode IS NULL) = (run LIKE 'multi_%')")[0][0] == 0


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
    for view in ("transfer_metrics", "transfer_final"):  # from the writer's schema, read as method and mode
        types = dict(_q(db, f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '{view}'"))
        assert types["mode"] == "VARCHAR" and types["method"] == "VARCHAR" and "objective" not in types, view
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
    assert none.returncode == 2 and "no results folder" in none.stderr and "--db" in none.stderr
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
    from gkt.db.read import query

    assert query("SELECT count(*) AS n FROM models", results_db).to_dicts() == [{"n": 8}]
    with pytest.raises(GktError, match="query failed"):
        query("SELEC 1", results_db)
    assert query("SELECT delta_acc FROM transfer_final", results_db).dtypes[0].is_float()


def test_csv_text_writes_cells_as_the_figure_csvs_always_had_them():
    """Floats in their shortest repr, NULL and NaN empty, booleans True/False, quoting as needed."""
    from gkt.text import csv_text

    df = pl.DataFrame({"x": [0.1, 1e-05, None, math.nan, 8.200000000000001], "n": [1, None, 3, 4, 5],
                       "b": [True, False, None, True, True], "s": ["a", "b,c", None, 'say "hi"', ""],
                       "f32": pl.Series([0.1, 2.5, 3.0, None, 1e20], dtype=pl.Float32)})
    assert csv_text(df) == ('x,n,b,s,f32\n0.1,1,True,a,0.1\n1e-05,,False,"b,c",2.5\n,3,,,3.0\n,4,True,"say ""hi""",\n'
                            '8.200000000000001,5,True,,1e+20\n')


def test_docs_database_md_is_generated_from_gkt_db_docs(gkt):
    """docs/database.md is the text gkt.db.docs generates (`gkt db --docs > docs/database.md`)."""
    from gkt.db.docs import database_md

    checked_in = (Path(__file__).resolve().parents[1] / "docs" / "database.md").read_text()
    assert checked_in == database_md(), "docs/database.md is out of date: run `gkt db --docs > docs/database.md`"
    out = gkt("db", "--docs")
    assert out.returncode == 0 and out.stdout == checked_in
    assert gkt("db").returncode == 2  # neither --docs nor --results


def test_every_view_column_is_documented_in_view_order(results_db):
    """gkt.db.docs documents exactly the columns each view has, in the view's order (so docs/database.md
    lists them as `SELECT *` returns them), and every column carries its comment."""
    from gkt.db.docs import VIEWS

    assert [v for (v,) in _q(results_db, "SELECT view FROM gkt_views")] == list(VIEWS)
    for view, (doc, columns) in VIEWS.items():
        rows = _q(results_db, "SELECT column_name, comment FROM duckdb_columns() "
                              f"WHERE table_name = '{view}' ORDER BY column_index")
        assert [c for c, _ in rows] == list(columns), view
        assert all(comment == columns[c] for c, comment in rows), view


def test_models_columns_follow_the_model_record(results_db):
    """The zoo records are read with the fields and types of gkt.zoo.record.ModelRecord."""
    import dataclasses

    from gkt.db.build import model_columns
    from gkt.zoo.record import ModelRecord

    columns = model_columns()
    assert list(columns) == [f.name for f in dataclasses.fields(ModelRecord)]
    assert columns["params"] == "BIGINT" and columns["kwargs"] == columns["recipe"] == "JSON"
    assert columns["top1"] == "DOUBLE" and columns["seed"] == "INTEGER" and columns["name"] == "VARCHAR"
    types = dict(_q(results_db, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'models'"))
    assert all(types[c] == t for c, t in columns.items() if c in types)
    assert types["params_m"] == "DOUBLE" and types["is_random_init"] == "BOOLEAN"


def test_view_sql_placeholders_must_match():
    """A view file's placeholders and the builder's values must agree (no silently unreplaced `{{x}}`)."""
    from gkt.db import build

    assert "{{" not in build.view_sql("pairs", {"files": "(SELECT 1)"})
    with pytest.raises(ValueError, match="placeholders"):
        build.view_sql("pairs", {})
    with pytest.raises(ValueError, match="placeholders"):
        build.view_sql("classes", {"files": "(SELECT 1)"})


def _stock_counts(db: Path, cwd: Path) -> dict[str, int]:
    """Row count of every view, through the stock duckdb package (no gkt session settings), from `cwd`."""
    import subprocess
    import sys

    code = ("import duckdb, json, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "views = [r[0] for r in con.execute('SELECT view FROM gkt_views').fetchall()]; "
            "print(json.dumps({v: con.execute(f'SELECT count(*) FROM {v}').fetchone()[0] for v in views}))")
    proc = subprocess.run([sys.executable, "-c", code, str(db)], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_database_opens_from_anywhere_and_moves_with_its_folder(results_dir, tmp_path):
    """Stock DuckDB answers every view from any working directory; a copied or moved results folder
    reads its own files (not the original's); the duckdb command line opens it too."""
    import subprocess

    run = tmp_path / "run" / "results" / "toyset"
    shutil.copytree(results_dir, run)
    from gkt.db.build import build_database

    db = build_database(run)
    here = _stock_counts(db, run)
    from gkt.db.docs import VIEWS

    assert set(here) == set(VIEWS) and here["pairs"] > 0 and here["transfer_metrics"] > 0
    for cwd in (tmp_path / "run", Path("/")):
        assert _stock_counts(db, cwd) == here
    # A copy reads its own files: drop the copy's pair table and the copy's view must fail, not
    # silently read the original's.
    copy = tmp_path / "elsewhere" / "toyset"
    shutil.copytree(run, copy)
    assert _stock_counts(copy / "gkt.duckdb", tmp_path) == here
    moved = tmp_path / "moved" / "toyset"
    shutil.move(run, moved)
    assert _stock_counts(moved / "gkt.duckdb", Path("/")) == here
    (copy / "complementary" / "pairs.parquet").unlink()
    import duckdb

    con = duckdb.connect(str(copy / "gkt.duckdb"), read_only=True)
    with pytest.raises(duckdb.IOException, match="elsewhere/toyset/complementary/pairs.parquet"):
        con.execute("SELECT count(*) FROM pairs").fetchall()
    con.close()
    cli = shutil.which("duckdb")
    if cli:  # the duckdb-cli package's command line, an older DuckDB: the v1.0 storage format
        proc = subprocess.run([cli, "-readonly", "-csv", str(moved / "gkt.duckdb"), "-c",
                               "SELECT count(*) AS n FROM pairs"], cwd="/", capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout.split() == ["n", str(here["pairs"])], proc.stderr


def test_notebook_entry_point_gives_polars(results_db):
    import gkt

    con = gkt.results(results_db.parent)
    try:
        df = con.sql("SELECT teacher, student, rho_pos FROM pairs").pl()
        assert isinstance(df, pl.DataFrame) and df.height == _q(results_db, "SELECT count(*) FROM pairs")[0][0]
    finally:
        con.close()


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 42 AS x) TO '{target}' (FORMAT parquet)",
    "EXPORT DATABASE '{folder}/export'",
    "ATTACH '{folder}/other.duckdb' AS other",
    "SET profiling_output = '{folder}/profile.json'",
    "SELECT 1; COPY (SELECT 1) TO '{folder}/x.csv'",
])
def test_query_cannot_write(results_db, gkt, sql):
    target = results_db.parent / "complementary" / "pairs.parquet"
    before = target.read_bytes()
    listing = sorted(p.name for p in results_db.parent.iterdir())
    proc = gkt("query", sql.format(target=target, folder=results_db.parent), "--db", str(results_db))
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "only reads" in proc.stderr, proc.stderr
    assert target.read_bytes() == before and sorted(p.name for p in results_db.parent.iterdir()) == listing


def test_default_results_is_the_main_data_set_beside_its_studies(results_dir, tmp_path, gkt, monkeypatch):
    """A run with a study makes two results folders; commands without --db/--results pick the main one,
    the one whose database names the other as its study."""
    from gkt.db.build import build_database
    from gkt.layout import find_results

    main, study = tmp_path / "results" / "main", tmp_path / "results" / "study"
    shutil.copytree(results_dir, main)
    shutil.copytree(results_dir, study)
    build_database(study)
    monkeypatch.chdir(tmp_path)
    assert "several results folders" in gkt("query", "SELECT 1").stderr  # no database names a study yet
    build_database(main, extra_results=[study])
    assert find_results() == Path("results/main")
    out = gkt("query", "SELECT DISTINCT dataset FROM transfer_datasets ORDER BY 1", "--format", "csv")
    assert out.returncode == 0 and out.stdout.split() == ["dataset", "main", "study"], out.stderr
    import gkt as gkt_package

    con = gkt_package.results()
    assert con.execute("SELECT value FROM gkt_info WHERE key = 'dataset'").fetchone()[0] == "main"
    con.close()


def test_transfer_in_domain_is_transfer_final_without_domain_shifted_teachers_and_multi_teacher_runs(results_db):
    """The within-data-set rule has one home, a derived view that the within-data-set figures read: single-teacher
    runs whose teacher was made for the student's data set."""
    shifted, multi, kept, total = _q(results_db, "SELECT count(*) FILTER (WHERE teacher_domain_shifted), "
                                                 "count(*) FILTER (WHERE is_multi), "
                                                 "(SELECT count(*) FROM transfer_in_domain), count(*) FROM transfer_final")[0]
    assert shifted > 0 and multi > 0 and kept == total - shifted - multi
    assert _q(results_db, "SELECT count(*) FROM transfer_in_domain WHERE teacher_domain_shifted OR is_multi")[0][0] == 0
    from importlib import resources

    sql = "\n".join(p.read_text() for p in resources.files("gkt").joinpath("sql").iterdir() if p.name.endswith(".sql"))
    assert "NOT teacher_domain_shifted" not in sql and "NOT is_multi" not in sql  # no figure restates the rule


def test_a_cache_copied_over_another_models_gives_no_accuracy(results_dir, tmp_path):
    """The models view matches a cache by the model and weights its metadata names, not by its file name."""
    from gkt.db.build import build_database

    run = tmp_path / "results" / "toyset"
    shutil.copytree(results_dir, run)
    before = dict(_q(build_database(run), "SELECT name, logits_top1 FROM models"))
    assert before["cnn_m"] is not None and before["cnn_s"] != before["cnn_m"]
    shutil.copy2(run / "logits" / "val" / "cnn_s.parquet", run / "logits" / "val" / "cnn_m.parquet")
    after = dict(_q(build_database(run), "SELECT name, logits_top1 FROM models"))
    assert after["cnn_m"] is None and after["cnn_s"] == before["cnn_s"]
