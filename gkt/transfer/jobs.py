"""Expand the config's `transfer:` section into jobs: one per (method, pair), one per multi-teacher run.

```yaml
transfer:
  defaults: {epochs: 20, batch_size: 128, targets: cached}   # run settings of every job
  hparams: {xekl_mcl: {tau: 0.999}}                          # per-method, over docs/method.md#per-method-hyperparameters
  gpu: 1                                                     # GPUs each job declares to the scheduler
  runs:                                                      # single-teacher jobs
    - {methods: [kl, kl_dp], students: [a, b], teachers: [c, d]}    # cross product, a model never teaches itself
    - {methods: [kl_dp], random: {n: 20, min_rho_pos: 0.02, seed: 0}}  # drawn from pairs.parquet
  multi:
    - {modes: [sequential, parallel, soup], method: kl_dp, students: [a], teachers: [b, c, d],
       order: ascending, holdout: 0.1}
    - {modes: [sequential, parallel], method: kl, students: [a], teachers: [b, c, d]}  # beside the kl_dp runs
```

Each multi-teacher run writes `transfer/multi_<mode>-<method>/<b+c+d>__<a>/`, so entries that differ only in
their `method` (the transfer method the teachers are combined with: Tab. 4's KL+DP and Tab. 9's KL-Dist runs)
are separate jobs and folders. The key was briefly called `objective`; a config that still says so fails at
`-n` with a line naming `method`.

Random runs depend on `complementary/pairs.parquet`, a computed file: the workflow draws them in a
Snakemake checkpoint (`gkt transfer-plan`), everything else is known when the workflow is parsed.
Like `settings.py`, this module imports no torch.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np

from gkt.errors import GktError
from gkt.transfer import vocabulary as vocab
from gkt.transfer.settings import resolve

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Job:
    """One result directory `transfer/<method>/<teacher>__<student>/`: a run of transfer method `method`.
    A multi-teacher job has a `mode` (gkt.transfer.vocabulary.MULTI_MODES), names its teachers joined by
    `+`, and lives in `multi_<mode>-<method>/` (gkt.transfer.vocabulary.run_path)."""

    method: str
    teacher: str
    student: str
    mode: str | None = None
    order: str = vocab.MULTI_ORDER
    holdout: float = vocab.MULTI_HOLDOUT

    @property
    def path(self) -> str:
        return vocab.run_path(self.method, self.teacher, self.student, self.mode)

    @property
    def teachers(self) -> list[str]:
        return self.teacher.split(vocab.TEACHER_SEP)

    @property
    def paths(self) -> list[str]:
        """Every run folder the job writes: the soup job writes the greedy soup beside the uniform one."""
        extra = [vocab.run_path(self.method, self.teacher, self.student, vocab.GREEDY_SOUP)] if self.mode == "soup" else []
        return [self.path, *extra]


def _check_models(names: list[str], models: list[str], where: str) -> None:
    unknown = [n for n in names if n not in models]
    if unknown:
        raise GktError(f"{where} names models {unknown} that are not in the zoo: add them under zoo: or fix the names")


def _check_method(transfer: dict, method: str) -> None:
    resolve(method, transfer.get("defaults"), transfer.get("hparams"))  # raises on unknown methods / keys


def explicit_jobs(transfer: dict, models: list[str]) -> list[Job]:
    """Every job known without the pair statistics: explicit runs and multi-teacher runs."""
    jobs: list[Job] = []
    for i, run in enumerate(transfer.get("runs", [])):
        if "random" in run:
            continue
        where = f"transfer.runs[{i}]"
        if not run.get("students") or not run.get("teachers"):
            raise GktError(f"{where} needs students and teachers lists (or random: {{n, min_rho_pos}})")
        _check_models(run["students"] + run["teachers"], models, where)
        pairs = [(t, s) for s in run["students"] for t in run["teachers"] if t != s]
        if not pairs:
            raise GktError(f"{where}: every teacher is also the only student ({run['teachers']}), so it has no "
                           f"runs: a model never teaches itself; name other teachers or students")
        for method in run["methods"]:
            _check_method(transfer, method)
            jobs += [Job(method, t, s) for t, s in pairs]
    for i, multi in enumerate(transfer.get("multi", [])):
        where = f"transfer.multi[{i}]"
        _check_models(multi["students"] + multi["teachers"], models, where)
        _check_method(transfer, multi["method"])
        order, holdout = multi.get("order", vocab.MULTI_ORDER), multi.get("holdout", vocab.MULTI_HOLDOUT)
        if problem := vocab.multi_problem(order, holdout):
            raise GktError(f"{where}.{problem}")
        for mode in multi["modes"]:
            if problem := vocab.mode_problem(mode):
                raise GktError(f"{where}: {problem}")
            for s in multi["students"]:
                # Named in config order: a sequential run's accuracy order is only known when it runs.
                teachers = [t for t in multi["teachers"] if t != s]
                if len(set(teachers)) < 2 or len(set(teachers)) != len(teachers):
                    raise GktError(f"{where}: student {s!r} has teachers {teachers}; multi-teacher transfer needs "
                                   f"two or more distinct teachers besides the student")
                jobs.append(Job(multi["method"], vocab.TEACHER_SEP.join(teachers), s, mode, order, holdout))
    return _unique(jobs)


def _unique(jobs: list[Job]) -> list[Job]:
    seen: dict[str, Job] = {}
    for job in jobs:
        if job.path in seen and seen[job.path] != job:
            raise GktError(f"transfer job {job.path} is configured twice with different options: keep one")
        seen[job.path] = job
    return list(seen.values())


def random_runs(transfer: dict) -> list[dict]:
    return [run for run in transfer.get("runs", []) if "random" in run]


def draw_pairs(pairs: "polars.DataFrame", n: int, min_rho_pos: float, seed: int = 0,  # noqa: F821
               students: list[str] | None = None, teachers: list[str] | None = None) -> list[tuple[str, str]]:
    """n seeded (teacher, student) pairs with ρ_pos >= min_rho_pos, never the control teacher.

    The candidates are sorted by (teacher, student) and the seeded numpy generator picks their
    positions, so a seed always draws the same pairs. A NaN or null ρ_pos is never drawn.
    """
    import polars as pl

    ok = (
        (pl.col("rho_pos").fill_nan(None) >= min_rho_pos)
        & ~pl.col("teacher_is_control")
        & (pl.col("teacher") != pl.col("student"))
    )
    if students:
        ok &= pl.col("student").is_in(students)
    if teachers:
        ok &= pl.col("teacher").is_in(teachers)
    cand = pairs.filter(ok).select("teacher", "student").sort("teacher", "student").rows()
    if len(cand) < n:
        log.warning("only %d pairs have rho_pos >= %g; using all of them instead of %d", len(cand), min_rho_pos, n)
        n = len(cand)
    pick = np.sort(np.random.default_rng(seed).choice(len(cand), size=n, replace=False))
    return [(str(cand[i][0]), str(cand[i][1])) for i in pick]


def planned_jobs(transfer: dict, pairs: "polars.DataFrame", models: list[str]) -> list[Job]:  # noqa: F821
    """The random runs' jobs, drawn from the pair statistics (a polars frame of pairs.parquet)."""
    jobs = []
    for i, run in enumerate(random_runs(transfer)):
        spec = dict(run["random"])
        _check_models(spec.get("students", []) + spec.get("teachers", []), models, f"transfer.runs[{i}].random")
        drawn = draw_pairs(pairs, spec["n"], spec.get("min_rho_pos", 0.0), spec.get("seed", 0),
                           spec.get("students"), spec.get("teachers"))
        for method in run["methods"]:
            _check_method(transfer, method)
            jobs += [Job(method, t, s) for t, s in drawn]
    return _unique(jobs)


def planned_problem(transfer: dict, models: list[str]) -> None:
    """What can be checked of the random runs before the pair statistics exist."""
    for i, run in enumerate(random_runs(transfer)):
        where = f"transfer.runs[{i}].random"
        spec = run["random"]
        _check_models(spec.get("students", []) + spec.get("teachers", []), models, where)
        if not isinstance(spec.get("n"), int) or spec["n"] < 1:
            raise GktError(f"{where}.n = {spec.get('n')!r}: draw at least one pair (an integer n >= 1)")
        for method in run["methods"]:
            _check_method(transfer, method)
