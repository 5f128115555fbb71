"""The README is a contract: what a researcher runs in the first hour after `snakemake --cores all`
works as written from the run's root folder.

Every line of a ```bash block that runs `gkt`, `duckdb` or `python`, every ```python block and
every ```sql block (through `gkt query`) runs in a finished run of the micro config with a study
beside its main data set (the shape of the default run), with the default zoo's model names mapped
to the micro zoo's (its data set is the default's: mnist5k, seed 0) and `gkt improve` and the probes
given the micro config's transfer settings in place of the default run's. The `snakemake` and
`pip` lines are the workflow's and the install's, which tests/test_workflow.py and CI run.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO

README = (REPO / "README.md").read_text()
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
RUNS = ("gkt ", "duckdb ", "python ", "python3 -c")
DEFAULT_ZOO = [m["name"] for m in yaml.safe_load((REPO / "workflow/config/embedded.yaml").read_text())["zoo"]]
MICRO = yaml.safe_load((REPO / "workflow/config/micro_studies.yaml").read_text())["transfer"]
MICRO_TRANSFER = {**MICRO["defaults"], **MICRO["hparams"]["kl_dp"]}
MICRO_PROBE = yaml.safe_load((REPO / "workflow/config/micro_studies.yaml").read_text())["recommend"]["probe"]


def micro_name(name: str) -> str:
    """The micro zoo's model of the default zoo's model `name`: by family (cnn, vit, mixer)."""
    if name.startswith(("vit", "deit")):
        return "vit"
    if "mixer" in name:
        return "mixer"
    return "cnn"


def mapped(text: str) -> str:
    for name in sorted(DEFAULT_ZOO, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", micro_name(name), text)
    if text.startswith("gkt improve") or " --probe" in text:
        # The micro config's transfer settings, as its workflow passes them (the default run's 20 epochs
        # on 1,000 images would make this one command take minutes), and its probes' slice.
        text = re.sub(r" --settings '[^']*'", "", text) + f" --settings '{json.dumps(MICRO_TRANSFER)}'"
    if " --probe" in text:
        text = re.sub(r" --probe-holdout \d+", "", text) + f" --probe-holdout {MICRO_PROBE['holdout_per_class']}"
    return text


def blocks(lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(README) if kind == lang]


def commands() -> list[str]:
    """The runnable lines of the README's bash blocks, without their trailing comments, each once."""
    lines = [re.sub(r"\s+#[^'\"]*$", "", line.strip()) for body in blocks("bash") for line in body.splitlines()]
    return list(dict.fromkeys(line for line in lines if line.startswith(RUNS)))


def run(line: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(line, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kw)


def test_readme_has_first_hour_examples():
    firsts = {line.split()[0] + " " + line.split()[1] for line in commands() if line.startswith("gkt ")}
    assert {"gkt query", "gkt recommend", "gkt improve", "gkt figures"} <= firsts, firsts
    assert any(line.startswith("duckdb ") for line in commands()) and blocks("python") and len(blocks("sql")) >= 5


@pytest.mark.parametrize("line", commands())
def test_readme_command_runs(micro_studies_run, line):
    proc = run(mapped(line), micro_studies_run, input="SELECT count(*) FROM pairs;\n")
    assert proc.returncode == 0, f"{line}\n{proc.stderr[-2000:]}"
    if line.startswith("duckdb "):
        assert "count_star()" in proc.stdout, proc.stdout


@pytest.mark.parametrize("code", blocks("python"))
def test_readme_python_runs(micro_studies_run, code):
    proc = run(f"{sys.executable} -", micro_studies_run, input=mapped(code))
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("sql", blocks("sql"), ids=lambda sql: sql.split("\n")[0][:40])
def test_readme_sql_runs(micro_studies_run, sql, gkt, monkeypatch):
    monkeypatch.chdir(micro_studies_run)
    proc = gkt("query", mapped(sql))
    assert proc.returncode == 0, proc.stderr
    assert "(no result)" not in proc.stdout
