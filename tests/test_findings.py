"""The findings report: numbers computed from the database as the rows say, verdicts by the rule."""
import numpy as np
import polars as pl

from gkt.figures.findings import _verdict, compute_findings, findings_markdown


def test_verdict_rule():
    assert _verdict(1.0, 0.2, 1.8, 0.0, 1) == "reproduced"
    assert _verdict(1.0, -0.2, 1.8, 0.0, 1) == "not reproduced (inconclusive)"
    assert _verdict(-1.0, -1.8, -0.2, 0.0, 1) == "not reproduced (contradicted)"
    assert _verdict(30.0, 10.0, 45.0, 50.0, -1) == "reproduced"
    assert _verdict(-0.1, -0.5, 0.3, 0.0, 0) == "reproduced"  # "not worse": the interval reaches 0
    assert _verdict(-0.6, -0.9, -0.3, 0.0, 0) == "not reproduced (contradicted)"


def test_findings_follow_the_database(results_dir):
    from gkt.db.build import build_database
    from gkt.db.read import connect, frame

    db = build_database(results_dir, results_dir / "findings.duckdb")
    con = connect(db)
    try:
        df = compute_findings(con)
        final = frame(con, "SELECT method, student, delta_transf FROM transfer_final "
                           "WHERE NOT is_multi AND NOT teacher_domain_shifted")
    finally:
        con.close()
    assert df["id"].to_list() == [f"F{i}" for i in range(1, df.height + 1)]
    rate = final.group_by("method", "student").agg(r=(pl.col("delta_transf") > 0).mean() * 100)
    both = rate.filter(pl.col("method") == "kl_dp").join(rate.filter(pl.col("method") == "kl"), on="student")
    f3 = df.filter(pl.col("id") == "F3").row(0, named=True)
    assert np.isclose(f3["estimate"], (both["r"] - both["r_right"]).mean()) and f3["n"] == both.height
    assert f3["lo"] <= f3["estimate"] <= f3["hi"]
    assert all(v.startswith(("reproduced", "not reproduced", "not testable here")) for v in df["verdict"])
    text = findings_markdown(df, "toyset")
    assert "The rule." not in text and "**reproduced**" in text and "| F3 |" in text


def test_report_files_and_the_index_link(results_dir, tmp_path):
    from pathlib import Path

    from gkt.db.build import build_database
    from gkt.db.read import connect
    from gkt.figures.findings import write_findings
    from gkt.figures.html import index_html

    db = build_database(results_dir, tmp_path / "gkt.duckdb")
    con = connect(db)
    try:
        df = write_findings(con, tmp_path / "fig", "toyset")
    finally:
        con.close()
    assert pl.read_csv(tmp_path / "fig" / "findings.csv")["id"].to_list() == df["id"].to_list()
    assert (tmp_path / "fig" / "findings.md").read_text().startswith("# The paper's findings on `toyset`")
    assert 'href="findings.md"' in index_html([], "toyset", Path(db), {}, [], 0.0)
