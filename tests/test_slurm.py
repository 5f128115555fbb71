"""The workflow through Snakemake's SLURM executor, on a real single-node SLURM cluster.

The fixture installs Debian's SLURM packages (scripts/slurm/install.sh), starts slurmctld,
slurmd and munged on free ports with their state in a temp dir (scripts/slurm/start.sh) and
stops exactly those daemons afterwards, also when the test fails (scripts/slurm/stop.sh).

The test runs the micro config end to end with a bare `--profile slurm` from the repository
root (the top-level `slurm` link) layered with `workflow/profiles/slurm-local` (fast polling),
checks that every job went through SLURM (seen in squeue), then corrupts one job's input so
that the job fails on the cluster, checks that Snakemake exits non-zero and names the rule,
repairs the input and checks that a rerun with the same command completes the workflow.

Skipped only when it cannot run here: not root, or apt-get cannot install the packages.
"""
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts" / "slurm"
MICRO = "workflow/config/micro.yaml"
# Hangs (e.g. a status command that never sees jobs end) must fail the test, not CI.
RUN_TIMEOUT = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, state: Path):
        self.state = state
        self.conf = state / "slurm.conf"
        # Client tools and the executor plugin find this cluster through SLURM_CONF (srun
        # inside the jobs through /etc/slurm/slurm.conf, which start.sh links); the venv's
        # bin first on PATH so that jobs (sbatch --export=ALL) find `gkt`.
        self.env = {
            **os.environ,
            "SLURM_CONF": str(self.conf),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HF_HUB_OFFLINE": "1",
        }

    def squeue(self, *args: str) -> list[str]:
        proc = subprocess.run(["squeue", "-h", *args], env=self.env, capture_output=True,
                              text=True, timeout=30)
        return proc.stdout.splitlines() if proc.returncode == 0 else []


@pytest.fixture(scope="module")
def slurm_cluster(request, tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root: installs Debian's SLURM packages and runs slurmctld/slurmd/munged")
    install = subprocess.run([str(SCRIPTS / "install.sh")], capture_output=True, text=True,
                             timeout=900)
    if install.returncode != 0:
        pytest.skip(f"cannot install SLURM (slurmctld slurmd slurm-client munge) with apt-get:\n"
                    f"{install.stderr[-2000:]}")

    state = tmp_path_factory.mktemp("slurm")
    cluster = Cluster(state)

    def stop():
        proc = subprocess.run([str(SCRIPTS / "stop.sh"), str(state)], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, f"stop.sh failed:\n{proc.stderr}"
        assert not (state / "pids").exists()

    # Registered before starting: whatever start.sh managed to start is stopped again.
    request.addfinalizer(stop)
    env = {**cluster.env, "GKT_SLURM_CTLD_PORT": str(_free_port()),
           "GKT_SLURM_SLURMD_PORT": str(_free_port())}
    t0 = time.monotonic()
    start = subprocess.run([str(SCRIPTS / "start.sh"), str(state)], env=env, capture_output=True,
                           text=True, timeout=180)
    assert start.returncode == 0, f"start.sh failed:\n{start.stdout}\n{start.stderr}"
    print(f"\nSLURM cluster up in {time.monotonic() - t0:.1f} s ({state})")
    pids = dict(line.split() for line in (state / "pids").read_text().splitlines())
    assert set(pids) == {"munged", "slurmctld", "slurmd"}
    assert cluster.squeue("-o", "%i") == []
    return cluster


class SqueueWatcher(threading.Thread):
    """Polls squeue while Snakemake runs: which jobs (by id) were seen in which states."""

    def __init__(self, cluster: Cluster, interval: float = 0.5):
        super().__init__(daemon=True)
        self.cluster, self.interval = cluster, interval
        self.seen: dict[str, dict] = {}
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            for line in self.cluster.squeue("--states=all", "-o", "%i|%j|%T|%k"):
                jobid, name, state, comment = line.split("|", 3)
                job = self.seen.setdefault(jobid, {"name": name, "comment": comment, "states": set()})
                job["states"].add(state)
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=30)


def run_snakemake(cluster: Cluster, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """`snakemake --profile slurm ...` from the repository root, results under `workdir`."""
    cmd = [
        sys.executable, "-m", "snakemake", "--profile", "slurm",
        "--profile", "workflow/profiles/slurm-local",
        "--configfile", MICRO, "--directory", str(workdir), *args,
    ]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=cluster.env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    proc.wall = time.monotonic() - t0
    proc.log = proc.stdout + proc.stderr
    return proc


def submitted_jobs(log: str) -> dict[str, str]:
    """SLURM job id -> log path, from the executor's 'has been submitted' lines."""
    return dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: ([^)]+)\)", log))


def test_micro_workflow_through_slurm(slurm_cluster, tmp_path):
    cluster = slurm_cluster
    workdir = tmp_path / "work"
    workdir.mkdir()
    cfg = yaml.safe_load((REPO / MICRO).read_text())
    results = workdir / "results" / cfg["dataset"]["name"]

    # 1. End to end: every job goes through sbatch and is visible in squeue.
    watcher = SqueueWatcher(cluster)
    watcher.start()
    try:
        first = run_snakemake(cluster, workdir, "all")
    finally:
        watcher.stop()
    assert first.returncode == 0, f"snakemake --profile slurm failed:\n{first.log[-6000:]}"
    assert "Using profiles slurm and workflow/profiles/slurm-local" in first.log
    assert "Falling back to 'sacct'" not in first.log  # squeue status checks, as configured
    jobs = submitted_jobs(first.log)
    assert len(jobs) >= 2 * len(cfg["zoo"]), first.log[-4000:]  # zoo_model + logits per model
    for jobid in jobs:
        assert jobid in watcher.seen, f"SLURM job {jobid} never showed up in squeue"
        assert watcher.seen[jobid]["name"].startswith("gkt_")  # slurm-jobname-prefix
        assert "COMPLETED" in watcher.seen[jobid]["states"]
    states = set().union(*(j["states"] for j in watcher.seen.values()))
    assert "RUNNING" in states, "no job was ever seen running"
    comments = {j["comment"] for j in watcher.seen.values()}
    for rule in ("zoo_model", "logits"):
        assert any(c.startswith(f"rule_{rule}") for c in comments), comments
    for model in cfg["zoo"]:
        assert (results / "zoo" / f"{model['name']}.json").exists()
        assert (results / "logits" / "val" / f"{model['name']}.parquet").exists()

    # 2. One job fails at run time: corrupt the class embeddings, an input that only the
    #    `semantic` job reads (so the rerun below stays short). Snakemake sees the input
    #    changed (mtime), reruns `semantic` through SLURM, the job exits non-zero, squeue
    #    reports FAILED and Snakemake must say which rule failed and exit non-zero.
    embeddings = results / "complementary" / "class_embeddings.parquet"
    semantic = results / "complementary" / "semantic.parquet"
    assert embeddings.exists() and semantic.exists()
    good = embeddings.read_bytes()
    embeddings.write_bytes(b"this is not a parquet file")
    failed = run_snakemake(cluster, workdir, "all")
    assert failed.returncode != 0, failed.log[-4000:]
    assert "Error in rule semantic" in failed.log, failed.log[-4000:]
    assert re.search(r"SLURM-job '\d+' failed, SLURM status is: 'FAILED'", failed.log), failed.log[-4000:]
    assert not semantic.exists()  # Snakemake removed the failed job's output
    # The failed job's SLURM log is kept and holds the job step's own report.
    failed_logs = [Path(p) for p in submitted_jobs(failed.log).values()]
    assert any(p.exists() and "rule semantic" in p.read_text() for p in failed_logs), failed_logs

    # A job larger than the node is refused by sbatch at once (EnforcePartLimits=ALL),
    # instead of pending forever.
    too_big = subprocess.run(["sbatch", "--mem=100000000", "--wrap", "true"], env=cluster.env,
                             capture_output=True, text=True, timeout=30)
    assert too_big.returncode != 0 and "memory" in too_big.stderr.lower(), too_big.stderr

    # 3. Repair and rerun with the same command: Snakemake runs what is missing and finishes.
    embeddings.write_bytes(good)
    rerun = run_snakemake(cluster, workdir, "all")
    assert rerun.returncode == 0, f"rerun failed:\n{rerun.log[-6000:]}"
    assert semantic.exists()
    assert 1 <= len(submitted_jobs(rerun.log)) < len(jobs)  # only the missing part ran again
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", MICRO, "--directory", str(workdir)],
        cwd=REPO, env=cluster.env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout + dry.stderr

    # Nothing left behind in the queue.
    assert cluster.squeue("-t", "PENDING,RUNNING,COMPLETING", "-o", "%i") == []
    waits, runs = [], []
    for line in cluster.squeue("--states=all", "-j", ",".join(jobs), "-o", "%V|%S|%e"):
        submit, begin, end = (time.mktime(time.strptime(t, "%Y-%m-%dT%H:%M:%S"))
                              for t in line.split("|"))
        waits.append(begin - submit)
        runs.append(end - begin)
    print(f"micro config via SLURM: end to end {first.wall:.0f} s ({len(jobs)} jobs; "
          f"queue wait mean {sum(waits) / len(waits):.1f} s, job run mean "
          f"{sum(runs) / len(runs):.1f} s), failing run {failed.wall:.0f} s, "
          f"rerun {rerun.wall:.0f} s")
