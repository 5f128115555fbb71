"""Several transfer runs in one job (transfer.batch) give exactly what one run per process gives."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from gkt.transfer.settings import resolve
from tests.helpers import REPO, snakemake


def test_batched_runs_equal_single_runs(tmp_path):
    cfg = yaml.safe_load((REPO / "workflow/config/micro.yaml").read_text())
    # vit is the student of the first run and the teacher of the second: the shared model must not
    # carry the first run's training (or its frozen state) into the second.
    cfg["transfer"].update(batch=2, runs=[{"methods": ["kl_dp"], "students": ["vit", "cnn"], "teachers": ["cnn", "vit"]}])
    path = tmp_path / "batch.yaml"
    path.write_text(yaml.safe_dump(cfg))
    runs = ["results/mnist5k/transfer/kl_dp/cnn__vit", "results/mnist5k/transfer/kl_dp/vit__cnn"]
    plan = snakemake(tmp_path, "-n", *[f"{r}/metrics.parquet" for r in runs], config=str(path))
    assert "transfer_batch_0" in plan.stdout + plan.stderr
    snakemake(tmp_path, *[f"{r}/metrics.parquet" for r in runs], config=str(path))
    settings = dataclasses.asdict(resolve("kl_dp", cfg["transfer"]["defaults"], cfg["transfer"]["hparams"]))
    for run in runs:
        teacher, student = Path(run).name.split("__")
        single = tmp_path / "single" / Path(run).name
        subprocess.run([sys.executable, "-m", "gkt.cli", "transfer", "--dataset", json.dumps(cfg["dataset"]),
                        "--zoo-dir", str(tmp_path / "results/mnist5k/zoo"),
                        "--logits-dir", str(tmp_path / "results/mnist5k/logits"), "--method", "kl_dp",
                        "--teacher", teacher, "--student", student, "--settings", json.dumps(settings),
                        "--out", str(single), "--threads", "1"], check=True, capture_output=True)
        rows = [pq.read_table(p / "metrics.parquet").drop(["seconds"]).to_pylist() for p in (single, tmp_path / run)]
        assert json.dumps(rows[0]) == json.dumps(rows[1])
        assert (single / "student.safetensors").read_bytes() == (tmp_path / run / "student.safetensors").read_bytes()
