"""Shared fixtures and test-session settings; plain helpers are in tests/helpers.py."""
import os
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import Proc, make_results, snakemake

# Workflow jobs run `gkt` from the shell: find this interpreter's scripts even when CI runs
# `.venv/bin/python -m pytest` without activating the venv.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

# Offline by construction: any hub access must fail fast instead of retrying for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist():
    from gkt.data.factory import get_dataset

    return get_dataset({"name": "mnist5k", "seed": 0})


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory) -> Path:
    """A results folder of every stage (tests/helpers.py: make_results, with a domain-shifted teacher),
    written once per test run; tests/test_db.py and tests/test_figures.py build their databases on it."""
    root = tmp_path_factory.mktemp("gktdb-shared")
    make_results(root, domain_shift=True)
    return root / "results" / "toyset"


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


@pytest.fixture(scope="session")
def micro_studies_run(tmp_path_factory) -> Path:
    """A finished run of workflow/config/micro_studies.yaml (the micro zoo with a study of another data
    set beside it, like the default run): tests/test_studies.py checks its figures, tests/test_readme.py
    runs the README's commands in it."""
    root = tmp_path_factory.mktemp("micro-studies")
    snakemake(root, config="workflow/config/micro_studies.yaml")
    return root
