"""Run folders keep multi-teacher runs of different objectives apart (gkt/transfer/vocabulary.py), and
results of the layout before objectives were part of folder names still read correctly."""
import shutil

import pytest

from gkt.db.build import build_database
from gkt.db.read import connect
from gkt.errors import GktError
from gkt.transfer import vocabulary as vocab
from gkt.transfer.jobs import explicit_jobs


def test_run_paths_round_trip():
    assert vocab.run_path("kl_dp", "a", "b") == "kl_dp/a__b"
    assert vocab.run_path("multi_sequential", ["a", "b"], "s", "kl") == "multi_sequential-kl/a+b__s"
    assert vocab.run_path("multi_soup_greedy", "a+b", "s", "xekl_mcl") == "multi_soup_greedy-xekl_mcl/a+b__s"
    for path, expected in [
        ("kl_dp/a__b", ("kl_dp", "kl_dp", "a", "b")),
        ("results/x/transfer/multi_parallel-kl_dp/a.1+b-2__s_3/metrics.parquet", ("multi_parallel", "kl_dp", "a.1+b-2", "s_3")),
        ("multi_soup_greedy-kl/a+b__s", ("multi_soup_greedy", "kl", "a+b", "s")),
        ("multi_sequential/a+b__s", ("multi_sequential", None, "a+b", "s")),  # the old layout
    ]:
        got = vocab.parse_run_path(path)
        assert (got["method"], got["objective"], got["teacher"], got["student"]) == expected, path
        if got["objective"]:
            assert vocab.run_path(got["method"], got["teacher"], got["student"], got["objective"]) in path
    with pytest.raises(GktError, match="needs its objective"):
        vocab.run_path("multi_parallel", "a+b", "s")
    with pytest.raises(GktError, match="unknown transfer method"):
        vocab.run_path("multi_parallel", "a+b", "s", "nope")
    with pytest.raises(GktError, match="not a transfer run folder"):
        vocab.parse_run_path("kl-kl_dp/a__b")  # single-teacher folders carry no objective


def test_multi_entries_with_different_methods_are_separate_jobs():
    transfer = {"multi": [
        {"modes": ["sequential", "soup"], "method": "kl_dp", "students": ["a"], "teachers": ["b", "c"]},
        {"modes": ["sequential", "soup"], "method": "kl", "students": ["a"], "teachers": ["b", "c"]},
    ]}
    jobs = explicit_jobs(transfer, ["a", "b", "c"])
    assert sorted(p for j in jobs for p in j.paths) == [
        "multi_sequential-kl/b+c__a", "multi_sequential-kl_dp/b+c__a", "multi_soup-kl/b+c__a",
        "multi_soup-kl_dp/b+c__a", "multi_soup_greedy-kl/b+c__a", "multi_soup_greedy-kl_dp/b+c__a"]
    twice = {"multi": [transfer["multi"][0], {**transfer["multi"][0], "order": "descending"}]}
    with pytest.raises(GktError, match="configured twice"):
        explicit_jobs(twice, ["a", "b", "c"])


def _runs(db):
    con = connect(db)
    try:
        final = con.execute("SELECT run, method, objective FROM transfer_final WHERE is_multi ORDER BY run").fetchall()
        per_class = con.execute("SELECT DISTINCT run FROM transfer_per_class WHERE method LIKE 'multi_%'").fetchall()
        tab = con.execute("SELECT count(*) FROM transfer_final WHERE is_multi AND objective = 'kl'").fetchone()[0]
    finally:
        con.close()
    return final, sorted(r[0] for r in per_class), tab


def test_old_and_new_layouts_read_and_count_each_run_once(results_dir, tmp_path):
    """tests/helpers.py writes multi-teacher runs in the old layout (multi_<mode>/...): they read with
    their recorded objectives; copied to the current layout beside them, each run counts once."""
    results = tmp_path / "toyset"
    shutil.copytree(results_dir, results, ignore=shutil.ignore_patterns("*.duckdb*"))
    old, old_pc, old_kl = _runs(build_database(results))
    assert old and all(run.split("/")[0] == method for run, method, _ in old) and old_kl == 4
    assert {objective for _, _, objective in old} == {"kl", "kl_dp"} and len(old_pc) == len(old)

    # The same runs in the current layout beside them (one of them only there): the database keeps
    # the current folders and drops the old ones they replace.
    transfer = results / "transfer"
    for run, method, objective in old:
        folder, pair = run.split("/")
        new = transfer / vocab.run_path(method, pair.split("__")[0], pair.split("__")[1], objective)
        shutil.copytree(transfer / run, new)
    shutil.rmtree(transfer / old[0][0])
    new, new_pc, new_kl = _runs(build_database(results))
    assert sorted((m, o) for _, m, o in new) == sorted((m, o) for _, m, o in old) and new_kl == 4
    assert all(run.split("/")[0] == f"{method}-{objective}" for run, method, objective in new)
    assert new_pc == sorted(run for run, _, _ in new)
