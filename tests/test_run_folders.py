"""Run folders keep multi-teacher runs of different methods apart (gkt/transfer/vocabulary.py), and
results of the layout before methods were part of multi-teacher folder names are refused before any job."""
import shutil

import pytest

from gkt.errors import GktError
from gkt.transfer import vocabulary as vocab
from gkt.transfer.jobs import explicit_jobs


def test_run_paths():
    assert vocab.run_path("kl_dp", "a", "b") == "kl_dp/a__b"
    assert vocab.run_path("kl", ["a", "b"], "s", "sequential") == "multi_sequential-kl/a+b__s"
    assert vocab.run_path("xekl_mcl", "a+b", "s", vocab.GREEDY_SOUP) == "multi_soup_greedy-xekl_mcl/a+b__s"
    with pytest.raises(GktError, match="unknown multi-teacher mode 'serial'"):
        vocab.run_path("kl", "a+b", "s", "serial")
    with pytest.raises(GktError, match="unknown transfer method"):
        vocab.run_path("nope", "a+b", "s", "parallel")
    # The metrics files keep the columns they were written with: a multi-teacher run's method column says
    # multi_<mode>, its objective column the method.
    assert vocab.run_keys("kl", "a+b", "s", "soup_greedy") == \
        {"method": "multi_soup_greedy", "objective": "kl", "teacher": "a+b", "student": "s"}
    assert vocab.run_keys("kl_dp", ["a"], "s") == {"method": "kl_dp", "objective": "kl_dp", "teacher": "a", "student": "s"}


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


def test_multi_runs_of_the_earlier_layout_are_refused_before_any_job(results_dir, tmp_path, monkeypatch):
    """A results folder with `multi_<mode>/` folders (no method) stops `snakemake -n` with one line naming
    them: their runs would count beside the current folders' in every view."""
    from gkt.workflow.config import results_problem

    transfer = tmp_path / "results" / "toyset" / "transfer"
    shutil.copytree(results_dir / "transfer" / "multi_sequential-kl", transfer / "multi_sequential-kl")
    monkeypatch.chdir(tmp_path)
    config = {"dataset": {"name": "toyset"}, "zoo": []}
    assert results_problem(config) is None
    (transfer / "multi_sequential-kl").rename(transfer / "multi_sequential")
    problem = results_problem(config)
    assert problem.startswith("results/toyset/transfer/multi_sequential hold(s) multi-teacher runs of an earlier")
    assert "delete them" in problem and "\n" not in problem
