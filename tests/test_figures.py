"""Figures and tables (gkt.figures): every one renders from a database over results written by the
pipeline's own writers (tests/helpers.py: make_results); some queries are checked against numbers
computed directly from the fixture's files; missing results give one-line reasons."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gkt.errors import GktError
from tests.helpers import STUDENTS, make_results

SPEC_IDS = ["fig1a", "fig1b", "fig2a", "fig2b", "fig4a", "fig4b", "fig5a", "fig5b", "fig6", "fig7", "fig8", "fig9",
            "fig10", "fig11", "tab1", "tab2", "tab3", "tab4", "tab7", "tab8", "tab9"]


@pytest.fixture(scope="session")
def figure_db(results_dir, tmp_path_factory):  # noqa: F811
    """The fixture's database, with the transfer runs of a second dataset (Fig. 9)."""
    from gkt.db.build import build_database

    other = make_results(tmp_path_factory.mktemp("other"), "otherset", complementary=False,
                         methods=["kl", "xekl_mcl", "kl_dp"], multi=False, seed=1)
    return build_database(results_dir, results_dir / "figures.duckdb", extra_results=[other])


@pytest.fixture(scope="session")
def rendered(figure_db, tmp_path_factory):
    from gkt.figures.commands import render_all

    out = tmp_path_factory.mktemp("figures") / "toyset"
    results, out, seconds = render_all(figure_db, out)
    return {r.spec.id: r for r in results}, out, seconds


def _con(db):
    from gkt.db.read import connect

    return connect(db)


def _query(fid: str, db) -> pd.DataFrame:
    """The rows of a figure's query (a polars DataFrame), as pandas for the checks below."""
    from gkt.figures.registry import get_figure, query

    return query(get_figure(fid), _con(db)).to_pandas()


def _runs(results: Path) -> pd.DataFrame:
    """Final epoch of every single-teacher run, read straight from the metrics.parquet files."""
    rows = []
    for path in sorted((results / "transfer").glob("*/*/metrics.parquet")):
        last = pq.read_table(path).to_pylist()[-1]
        if not last["method"].startswith("multi_"):
            rows.append({**last, "dir": path.parent})
    return pd.DataFrame(rows)


def test_registry_covers_the_paper(rendered):
    from gkt.figures.registry import list_figures

    ids = [s.id for s in list_figures()]
    assert [s.id for s in list_figures() if s.paper] == SPEC_IDS == ids[:len(SPEC_IDS)]  # the paper's first
    assert "success" in ids
    sql_dir = Path(__file__).resolve().parents[1] / "gkt" / "sql"
    assert sorted(p.stem for p in sql_dir.glob("*.sql")) == sorted(ids)
    for spec in list_figures():
        assert spec.caption and spec.finding and spec.needs and spec.sql.lstrip().startswith("--")


def test_shared_queries_serve_the_figures_that_name_them():
    """Figs. 4b/9 share their binning, Tables 4/9 their comparison (gkt/sql/shared/); each shared query
    is read by two or more figures, and a figure's SQL says where the shared one is."""
    from gkt.figures.registry import get_figure, list_figures, shared_queries

    sql_dir = Path(__file__).resolve().parents[1] / "gkt" / "sql" / "shared"
    assert sorted(shared_queries()) == sorted(p.stem for p in sql_dir.glob("*.sql")) == [
        "multi_vs_single", "student_success", "transfer_bins"]
    users = {name: [s.id for s in list_figures() if name in s.uses] for name in shared_queries()}
    assert users == {"transfer_bins": ["fig4b", "fig9"], "multi_vs_single": ["tab4", "tab9"],
                     "student_success": ["fig4a", "success"]}
    for name, ids in users.items():
        for fid in ids:
            assert f"gkt/sql/shared/{name}.sql" in get_figure(fid).sql


def test_fig4b_is_the_panel_of_fig9_for_this_dataset(figure_db):
    """One binning for both: Fig. 4b's rows of Fig. 9's methods (the paper's three of Supp. B.4) are
    Fig. 9's rows of the database's own dataset."""
    fig4b, fig9 = _query("4b", figure_db), _query("9", figure_db)
    assert set(fig9.dataset) == {"toyset", "otherset"} and set(fig9.method) == {"kl", "xekl_mcl", "kl_dp"}
    fig4b = fig4b[fig4b.method.isin(set(fig9.method))].reset_index(drop=True)
    own = fig9[fig9.dataset == "toyset"].drop(columns="dataset").reset_index(drop=True)
    pd.testing.assert_frame_equal(fig4b[own.columns], own)


def test_every_figure_and_table_renders(rendered):
    results, out, seconds = rendered
    assert all(r.status == "rendered" for r in results.values()), {i: r.reason for i, r in results.items()
                                                                    if r.status != "rendered"}
    for fid, r in results.items():
        exts = (".png", ".pdf") if r.spec.kind == "figure" else (".md", ".csv")
        for ext in exts:
            path = out / f"{fid}{ext}"
            assert path.stat().st_size > 300, path
    png = (out / "fig4b.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert 900 <= width <= 2000  # page width at print resolution
    assert (out / "tab1.md").read_text().startswith("**Tab. 1:")


def test_index_html_lists_everything_with_caption_finding_and_sql(rendered):
    results, out, _ = rendered
    page = (out / "index.html").read_text()
    for fid, r in results.items():
        assert f'id="{fid}"' in page
        assert (f'src="{fid}.png"' in page) if r.spec.kind == "figure" else (f'href="{fid}.csv"' in page)
    assert "Paper&#x27;s finding" in page or "Paper's finding" in page
    assert "<pre>-- Fig. 4b" in page and "top 25 %" in page
    # A figure reading a shared query shows its SQL too, named by its file.
    for fid, shared in (("fig4b", "transfer_bins"), ("fig9", "transfer_bins"), ("tab4", "multi_vs_single"),
                        ("tab9", "multi_vs_single")):
        section = page[page.index(f'id="{fid}"'):]
        section = section[:section.index("</section>")]
        assert f"SQL: gkt/sql/{fid}.sql, gkt/sql/shared/{shared}.sql</summary>" in section
        assert f"<pre>-- {shared} (" in section
    assert "http://" not in page and "https://" not in page and "<script" not in page  # opens offline


def test_fig1a_query_matches_the_pairs_file(figure_db, results_dir):  # noqa: F811
    df = _query("1a", figure_db)
    pairs = pq.read_table(results_dir / "complementary" / "pairs.parquet").to_pandas()
    merged = df.merge(pairs, on=["teacher", "student"])
    assert len(merged) == len(pairs) == len(df)
    assert np.allclose(merged.delta_acc_pct, 100 * merged.delta_acc)
    assert np.allclose(merged.rho_pos_pct, 100 * merged.rho_pos)
    assert merged.teacher_is_control_x.equals(merged.teacher_is_control_y)


def test_fig4a_success_rates_match_the_metrics_files(figure_db, results_dir):  # noqa: F811
    df = _query("4a", figure_db).set_index(["method", "student"])
    runs = _runs(results_dir)
    # Runs of a domain-shifted teacher (its zoo record names another dataset) are Fig. 10's, not Fig. 4a's.
    made_for = {p.stem: json.loads(p.read_text())["dataset"] for p in (results_dir / "zoo").glob("*.json")}
    runs = runs[runs.teacher.map(made_for) == results_dir.name].reset_index(drop=True)
    expected = runs.groupby(["method", "student"]).delta_transf.apply(lambda d: 100 * (d > 0).mean())
    assert len(df) == len(expected) == 9 * len(STUDENTS)
    assert np.allclose(df.success_rate_pct.loc[expected.index], expected)


def test_fig4b_top_quartile_means_match_a_direct_computation(figure_db, results_dir):  # noqa: F811
    df = _query("4b", figure_db)
    runs = _runs(results_dir)
    # Runs of a domain-shifted teacher (its zoo record names another dataset) are Fig. 10's, not Fig. 4b's.
    made_for = {p.stem: json.loads(p.read_text())["dataset"] for p in (results_dir / "zoo").glob("*.json")}
    runs = runs[runs.teacher.map(made_for) == results_dir.name].reset_index(drop=True)
    x = 100 * (runs.acc_teacher - runs.acc_student)
    nb = int(df.bins.iloc[0])
    assert nb == min(6, len(runs) // runs.method.nunique() // 3)
    lo, hi = x.min(), x.max()
    runs["bin"] = np.minimum(nb - 1, np.floor((x - lo) / (hi - lo) * nb)).astype(int)
    for (method, b), grp in runs.groupby(["method", "bin"]):
        top = np.sort(100 * grp.delta_transf.to_numpy())[::-1][: int(np.ceil(len(grp) / 4))]
        row = df[(df.method == method) & (df.bin == b)]
        assert len(row) == 1 and row.runs.iloc[0] == len(grp)
        assert row.top25_mean_delta_transf_pct.iloc[0] == pytest.approx(top.mean())


def test_fig5a_transfer_rates_match_a_direct_computation(figure_db, results_dir):  # noqa: F811
    """Top-X % class sets ranked with gkt.complementary.stats (the semantic stage's definition)."""
    from gkt.complementary.stats import top_x_sizes
    df = _query("5a", figure_db).set_index(["family", "x"])
    families = {json.loads(p.read_text())["name"]: json.loads(p.read_text())["family"]
                for p in (results_dir / "zoo").glob("*.json")}
    rates: dict[tuple, list] = {}
    xs = [2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    made_for = {p.stem: json.loads(p.read_text())["dataset"] for p in (results_dir / "zoo").glob("*.json")}
    for run in (results_dir / "transfer" / "kl_dp").iterdir():
        if made_for[run.name.split("__")[0]] != results_dir.name:
            continue  # a domain-shifted teacher's run is Fig. 10's
        pc = pq.read_table(run / "per_class.parquet").to_pandas()
        order = np.argsort(-pc.pos_flips.to_numpy(), kind="stable")
        k = top_x_sizes(pc.pos_flips.to_numpy()[None], xs)[0]
        student = run.name.split("__")[1]
        for x, kx in zip(xs, k):
            top = pc.iloc[order[:kx]]
            rates.setdefault((families[student], x), []).append(100 * top.transferred.sum() / top.pos_flips.sum())
    assert len(df) == len(rates)
    for key, values in rates.items():
        assert df.loc[key, "mean_rate_pct"] == pytest.approx(np.mean(values))
        assert df.loc[key, "runs"] == len(values)


def test_tab4_compares_with_the_best_single_teacher(figure_db, results_dir):  # noqa: F811
    df = _query("tab4", figure_db)
    runs = _runs(results_dir)
    single = runs[(runs.method == "kl_dp") & (runs.student == "vit_s") & runs.teacher.isin(["cnn_m", "cnn_l", "hybrid"])]
    best = df[df.variant == "best_single"].iloc[0]
    assert best.delta_transf_pct == pytest.approx(100 * single.delta_transf.max())
    assert best.single_teacher == single.loc[single.delta_transf.idxmax(), "teacher"]
    assert set(df.variant) == {"best_single", "mean_single", "multi_sequential", "multi_parallel", "multi_soup",
                               "multi_soup_greedy"}
    assert set(_query("tab9", figure_db).student) == {"cnn_s"}  # the KL-Dist multi-teacher runs
    # The multi-teacher rows are the runs whose metrics record objective kl_dp (whatever their mode).
    recorded = set()
    for path in (results_dir / "transfer").glob("multi_*/*/metrics.parquet"):
        rows = pq.read_table(path).to_pylist()
        assert len({r["objective"] for r in rows}) == 1
        if rows[0]["objective"] == "kl_dp":
            recorded.add((rows[0]["student"], rows[0]["teacher"], rows[0]["method"]))
    multi = df[df.variant.str.startswith("multi_")]
    assert set(zip(multi.student, multi.teachers, multi.variant)) == recorded and len(recorded) == 4
    assert "objective_source" not in df.columns


def test_figs_9_and_10_are_skipped_with_their_reason_when_the_results_lack_them(results_dir, tmp_path, gkt):  # noqa: F811
    from gkt.db.build import build_database
    from gkt.figures.commands import render_all

    db = build_database(results_dir, tmp_path / "one.duckdb")  # one dataset only
    results, out, _ = render_all(db, tmp_path / "figs", only=["9"])
    assert results[0].status == "skipped" and "needs transfer results of a second dataset" in results[0].reason
    proc = gkt("figures", "--db", str(db), "--out-dir", str(tmp_path / "figs"), "--only", "9")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("gkt: error: figure 9 needs transfer results of a second dataset")
    assert not (tmp_path / "figs" / "index.html").exists()  # --only leaves index.html alone


def test_missing_stage_gives_a_one_line_reason(tmp_path, gkt):  # noqa: F811
    from gkt.db.build import build_database

    db = build_database(make_results(tmp_path, "early", complementary=False, transfer=False))
    proc = gkt("figures", "--db", str(db), "--only", "4a")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "gkt: error: figure 4a needs results of stage transfer (view transfer_final)"
    proc = gkt("figures", "--db", str(db), "--only", "Tab. 1", "fig1a")
    assert proc.stderr.strip() == ("gkt: error: table 1 needs results of stage transfer (view transfer_final); "
                                   "figure 1a needs results of stage complementary (view pairs)")
    # The full run lists everything as skipped, with the same reasons, in index.html (default folder).
    assert gkt("figures", "--db", str(db)).returncode == 0
    index = tmp_path / "figures" / "early" / "index.html"
    page = index.read_text()
    assert "figure 4a needs results of stage transfer (view transfer_final)" in page
    assert "figure 2b needs results of stage complementary (view pairs)" in page
    assert not list(index.parent.glob("*.png"))


def test_ids_resolve_and_unknown_ids_are_refused():
    from gkt.figures.registry import resolve_id

    assert [resolve_id(t) for t in ("1a", "fig1a", "Fig. 1a", "figure 11", "tab1", "Tab. 4", "table9", "T8")] == \
        ["fig1a", "fig1a", "fig1a", "fig11", "tab1", "tab4", "tab9", "tab8"]
    with pytest.raises(GktError, match="unknown figure or table '3'"):
        resolve_id("3")


def test_list_option(gkt):  # noqa: F811
    out = gkt("figures", "--list").stdout
    from gkt.figures.registry import list_figures

    assert re.search(r"^fig4b\s+Fig\. 4b\s+Transfer delta by binned", out, re.M)
    assert len(out.splitlines()) == len(list_figures()) and re.search(r"^success\s", out, re.M)
