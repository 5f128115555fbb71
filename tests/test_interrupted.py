"""Interrupted and damaged micro runs, for real: a run that exits 0 leaves nothing to do, a hang-up leaves
no job behind, a damaged zoo record is one line naming the fix, and a changed data set is never shown
as current under any rerun trigger."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
import yaml

from tests.helpers import REPO, snakemake

DS = "results/mnist5k"
CACHES = [f"{DS}/logits/{split}/{m}.parquet" for split in ("val", "train") for m in ("cnn", "vit", "control")]
# The logits stage and a stage after it: what these cases can leave undone (the transfer, database and
# figures stages would only lengthen each run).
TARGETS = [*CACHES, f"{DS}/complementary/pairs.parquet"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished micro run of TARGETS: every case starts from a copy of it (times kept) and compares with it."""
    root = tmp_path_factory.mktemp("micro-finished")
    snakemake(root, *TARGETS)
    return root


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)  # copy2: file times kept, as Snakemake left them
    return dst


def nothing_to_do(workdir, *args, config="workflow/config/micro.yaml") -> bool:
    return "Nothing to be done" in snakemake(workdir, *TARGETS, "-n", *args, config=config).stdout


def jobs_in(workdir: Path) -> list[psutil.Process]:
    """Processes running in the run's folder: its jobs (their command lines name relative paths)."""
    found = []
    for p in psutil.process_iter(["cwd"]):
        if p.info["cwd"] and Path(p.info["cwd"]) == workdir.resolve() and p.pid != os.getpid():
            found.append(p)
    return found


def same_logits(a: Path, b: Path, files=CACHES) -> bool:
    return all(pq.read_table(a / f).equals(pq.read_table(b / f)) for f in files)


def changed_config(tmp_path: Path, **changes) -> str:
    cfg = yaml.safe_load((REPO / "workflow/config/micro.yaml").read_text())
    for section, values in changes.items():
        cfg[section] = {**cfg[section], **values}
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_hangup_ends_the_jobs_and_the_same_command_finishes(finished, tmp_path):
    """SIGHUP to Snakemake alone (a closed terminal, its jobs in their own sessions under nohup or
    tmux) while logits group jobs run, after a changed logits setting reruns them: no job process
    remains, and the same command then finishes everything in one invocation."""
    work = copy_run(finished, tmp_path / "run")
    config = changed_config(tmp_path, logits={"batch_size": 250})
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", config, "--cores", "2", *TARGETS]
    group_logs = work / DS / "logs/logits/val/groups"
    before = {p: p.stat().st_mtime for p in group_logs.glob("*.log")}
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not any(p.stat().st_mtime != before.get(p) for p in group_logs.glob("*.log")):
        assert proc.poll() is None and time.time() < deadline, "no logits group job started"
        time.sleep(0.2)
    assert jobs_in(work), "the group job is running"
    os.kill(proc.pid, signal.SIGHUP)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    time.sleep(1)
    assert not jobs_in(work), "a job outlived Snakemake"

    rerun = snakemake(work, *TARGETS, "--rerun-incomplete", config=config)
    assert "Nothing to be done" not in rerun.stdout + rerun.stderr
    assert nothing_to_do(work, config=config)
    assert nothing_to_do(work, "--rerun-triggers", "mtime", config=config)
    for f in CACHES:
        assert pq.read_schema(work / f).metadata is not None
    assert same_logits(work, finished), "another batch size computes the same logits"


def test_a_damaged_zoo_record_is_one_line_and_its_fix_finishes(finished, tmp_path):
    work = copy_run(finished, tmp_path / "run")
    record = work / DS / "zoo/cnn.json"
    record.write_text(record.read_text()[:100])
    failed = snakemake(work, *TARGETS, check=False)
    assert failed.returncode != 0
    errors = sorted({line for line in failed.stderr.splitlines() if line.startswith("gkt: error:")})
    assert len(errors) == 1 and f"{DS}/zoo/cnn.json is damaged" in errors[0], failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr
    fix = errors[0].split("remake it with: snakemake ")[1].split()
    snakemake(work, *fix)
    snakemake(work, *TARGETS)
    assert nothing_to_do(work)
    assert same_logits(work, finished)


def test_a_changed_val_split_under_mtime_triggers_is_refused_at_dry_run(finished, tmp_path):
    work = copy_run(finished, tmp_path / "run")
    config = changed_config(tmp_path, dataset={"val_per_class": 90})
    for damage in (None, "geometry.json deleted (the advice this once gave)"):
        if damage:
            (work / DS / "logits/geometry.json").unlink()
        dry = snakemake(work, *TARGETS, "-n", "--rerun-triggers", "mtime", config=config, check=False)
        assert dry.returncode == 1, damage
        lines = [line for line in dry.stderr.splitlines() if line.startswith("gkt: error:")]
        assert len(lines) == 1 and "--rerun-triggers mtime params" in lines[0], dry.stderr[-3000:]
        assert "Traceback" not in dry.stderr and "InputFunctionException" not in dry.stderr
    # The command the line names recomputes what the split changed, and the caches then record it.
    snakemake(work, *TARGETS, "--rerun-triggers", "mtime", "params", config=config)
    assert nothing_to_do(work, "--rerun-triggers", "mtime", config=config)
    assert pq.read_metadata(work / CACHES[0]).num_rows == 900
