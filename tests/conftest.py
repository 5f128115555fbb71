import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

# Workflow jobs run `gkt` from the shell: find this interpreter's scripts even when CI runs
# `.venv/bin/python -m pytest` without activating the venv.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

# Offline by construction: any hub access must fail fast instead of retrying for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist():
    from gkt.data.registry import get_dataset

    return get_dataset({"name": "mnist5k", "seed": 0})


def snakemake(workdir, *args, config="workflow/config/micro.yaml", check=True):
    """Run the repository's workflow for real, with its outputs under `workdir`."""
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(REPO / config), "--cores", "2", *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc
