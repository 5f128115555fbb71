"""Several transfer runs in one job (transfer.batch) give exactly what one run per process gives, and
every run preprocesses its models by the logits caches' evaluation convention."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from gkt.transfer.settings import resolve
from tests.helpers import REPO, snakemake

RUNS = ["results/mnist5k/transfer/kl_dp/cnn__vit", "results/mnist5k/transfer/kl_dp/vit__cnn"]


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    """The micro workflow with two KL+DP runs in one batch job; returns (folder, config)."""
    tmp_path = tmp_path_factory.mktemp("batch")
    cfg = yaml.safe_load((REPO / "workflow/config/micro.yaml").read_text())
    # vit is the student of the first run and the teacher of the second: the shared model must not
    # carry the first run's training (or its frozen state) into the second.
    cfg["transfer"].update(batch=2, runs=[{"methods": ["kl_dp"], "students": ["vit", "cnn"], "teachers": ["cnn", "vit"]}])
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(cfg))
    plan = snakemake(tmp_path, "-n", *[f"{r}/metrics.parquet" for r in RUNS], config=str(path))
    assert "transfer_batch_0" in plan.stdout + plan.stderr
    snakemake(tmp_path, *[f"{r}/metrics.parquet" for r in RUNS], config=str(path))
    return tmp_path, cfg


def _single(tmp_path, cfg, run, out, *extra):
    settings = dataclasses.asdict(resolve("kl_dp", cfg["transfer"]["defaults"], cfg["transfer"]["hparams"]))
    teacher, student = Path(run).name.split("__")
    return subprocess.run([sys.executable, "-m", "gkt.cli", "transfer", "--dataset", json.dumps(cfg["dataset"]),
                           "--zoo-dir", str(tmp_path / "results/mnist5k/zoo"),
                           "--logits-dir", str(tmp_path / "results/mnist5k/logits"), "--method", "kl_dp",
                           "--teacher", teacher, "--student", student, "--settings", json.dumps(settings),
                           "--out", str(out), "--threads", "1", *extra], capture_output=True, text=True)


def test_batched_runs_equal_single_runs(batched):
    tmp_path, cfg = batched
    for run in RUNS:
        single = tmp_path / "single" / Path(run).name
        assert _single(tmp_path, cfg, run, single).returncode == 0
        rows = [pq.read_table(p / "metrics.parquet").drop(["seconds"]).to_pylist() for p in (single, tmp_path / run)]
        assert json.dumps(rows[0]) == json.dumps(rows[1])
        assert (single / "student.safetensors").read_bytes() == (tmp_path / run / "student.safetensors").read_bytes()


def test_transfer_follows_the_caches_evaluation_size(batched):
    tmp_path, cfg = batched
    meta = pq.read_schema(tmp_path / RUNS[0] / "logits.parquet").metadata
    assert json.loads(meta[b"eval_size"]) == "test"  # the micro config keeps the default convention
    # A run at the other convention would train on targets made from other images: refused before any work.
    out = tmp_path / "train_size"
    proc = _single(tmp_path, cfg, RUNS[0], out, "--eval-size", "train")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and "evaluated at the test size, this transfer at the train size" in lines[-1]
    assert not (out / "metrics.parquet").exists()
