"""The config's `recommend:` section (no torch: Snakemake imports this at parse time).

    recommend:
      improve:                      # sequential KL+DP from a student's top-K teachers by a ranker
        - {student: vit_a, teachers: 3}                   # ranker: model (the fitted score)
        - {student: vit_a, teachers: 3, ranker: probe}
      probe:                        # probe ranking (gkt.recommend.probe): one `gkt probe` job per student
        students: [vit_a, convnext_a]
        teachers: [resnet10t_a, mixer_a]   # default: every trained zoo model but the student (or `top`)
        top: 8                      # instead of teachers: the top N of the fitted ranking
        epochs: 2                   # default: a tenth of the KL+DP run's epochs
        holdout_per_class: 50       # the held-out slice of the transfer split the probes are read on

Each improve entry is one `gkt improve` job, results in recommend/improve/<student>__top<K>[__<ranker>]/.
"""
from __future__ import annotations

import dataclasses
import math

from gkt.errors import GktError

METHOD = "kl_dp"  # the transfer whose outcome is predicted (docs/method.md#kl-dist-with-data-partitioning)
PROBE_DIR = "recommend/probe"  # under results/<dataset>: <student>.parquet and kl_dp/<teacher>__<student>/
PROBE_SHARE = 0.1  # a probe's default budget: this share of the full run's epochs (at least one)
# Rankers `gkt improve` can follow (gkt.recommend.model.RANKERS has their score columns); `model` is the default.
IMPROVE_RANKERS = ("model", "probe", "most_accurate", "highest_rho_pos")


@dataclasses.dataclass(frozen=True)
class ProbeSpec:
    """A probe's budget and what it is read on (docs/method.md#probe-ranking)."""

    epochs: int
    holdout_per_class: int = 50
    top: int | None = None  # probe only the top N of the fitted ranking (None: every candidate)

    @classmethod
    def of(cls, entry: dict | None, run_epochs: int, keys: dict[str, str] | None = None) -> "ProbeSpec":
        """The spec of a `recommend.probe` entry (or the command line's options, named by `keys`: field ->
        the option's name in the error lines), checked against the full run's `run_epochs`."""
        entry, keys = entry or {}, keys or {f: f"recommend.probe.{f}" for f in ("epochs", "holdout_per_class", "top")}
        epochs = int(entry.get("epochs") or max(1, math.ceil(PROBE_SHARE * run_epochs)))
        spec = cls(epochs, int(entry.get("holdout_per_class", cls.holdout_per_class)), entry.get("top"))
        if not 1 <= spec.epochs < max(run_epochs, 2):
            raise GktError(f"{keys['epochs']} = {spec.epochs}: a probe is a shorter KL+DP run, give 1 to "
                           f"{max(run_epochs - 1, 1)} (the full run has {run_epochs} epochs)")
        for field in ("holdout_per_class", "top"):
            if getattr(spec, field) is not None and getattr(spec, field) < 1:
                raise GktError(f"{keys[field]} = {getattr(spec, field)}: give 1 or more")
        return spec


def improve_folder(student: str, k: int, ranker: str = "model") -> str:
    """An improve job's folder under results/<dataset>/recommend/improve."""
    return f"{student}__top{k}" + ("" if ranker == "model" else f"__{ranker}")


def ranks(config: dict) -> bool:
    """Whether the config has KL+DP runs to fit the teacher ranking to: the ranking reads every model's
    train cache (at paper scale a pass over the transfer split per model), which is wasted without them."""
    return any(METHOD in run.get("methods", []) for run in (config.get("transfer") or {}).get("runs") or [])


def improve_jobs(config: dict) -> list[tuple[str, int, str]]:
    """(student, K, ranker) of every `recommend.improve` entry, checked against the zoo before any job starts."""
    zoo = config.get("zoo", [])
    candidates = [m["name"] for m in zoo if m.get("source", "train") != "random"]
    jobs = []
    for i, entry in enumerate((config.get("recommend") or {}).get("improve") or []):
        where = f"recommend.improve[{i}]"
        if not ranks(config):
            raise GktError(f"{where}: the teacher ranking is fitted to KL+DP runs and transfer.runs has none: add "
                           "kl_dp runs to transfer.runs or drop the entry")
        student, k = entry["student"], int(entry["teachers"])
        if student not in candidates:
            raise GktError(f"{where}.student = {student!r} is not a trained zoo model: choose one of "
                           f"{', '.join(candidates)}")
        others = len(candidates) - 1  # controls are never picked
        if others < 2:
            raise GktError(f"{where}: the zoo has {others} trained model(s) besides {student!r}, sequential transfer "
                           f"needs 2 or more teachers: add models to the zoo or drop the entry")
        if not 2 <= k <= others:
            raise GktError(f"{where}.teachers = {k}: give 2 to {others} (the zoo's other trained models)")
        ranker = entry.get("ranker", "model")
        if ranker not in IMPROVE_RANKERS:
            raise GktError(f"{where}.ranker = {ranker!r}: use one of {', '.join(IMPROVE_RANKERS)}")
        if ranker == "probe" and student not in probe_jobs(config):
            raise GktError(f"{where}: ranker probe needs {student!r} among recommend.probe.students")
        if (student, k, ranker) not in jobs:
            jobs.append((student, k, ranker))
    return jobs


def probe_spec(config: dict) -> ProbeSpec | None:
    """The budget of the config's probes (None without `recommend.probe`), its jobs checked too."""
    from gkt.transfer.settings import resolve

    if not probe_jobs(config):
        return None
    transfer = config.get("transfer") or {}
    return ProbeSpec.of(config["recommend"]["probe"], resolve(METHOD, transfer.get("defaults"), transfer.get("hparams")).epochs)


def probe_candidates(student: str, trained: list[str], controls: list[str], teachers: list[str] | None,
                     top: int | None, keys: dict[str, str]) -> list[str] | None:
    """The teachers to probe for `student`: `teachers` without the student, or None when they are chosen
    when the probes run (the top N of the fitted ranking, or every trained model but the student).
    Checked the same for the config and the command line; `keys` names their options in the error lines."""
    if teachers and top:
        raise GktError(keys["both"])
    if student not in trained:
        raise GktError(f"{keys['student']}: {student!r} is not a trained zoo model: choose among {', '.join(trained)}")
    for t in teachers or []:
        if t not in trained:
            raise GktError(f"{keys['teachers']}: {t!r} is not a trained zoo model"
                           + (" (random-init controls are never candidates)" if t in controls else "")
                           + f": choose among {', '.join(trained)}")
    return [t for t in teachers if t != student] if teachers else None


def probe_jobs(config: dict) -> dict[str, list[str] | None]:
    """student -> its probed teachers (None: every candidate, or the top N, chosen when the job runs) of the
    config's `recommend.probe`, checked against the zoo before any job starts."""
    entry = (config.get("recommend") or {}).get("probe")
    if not entry:
        return {}
    trained = [m["name"] for m in config.get("zoo", []) if m.get("source", "train") != "random"]
    controls = [m["name"] for m in config.get("zoo", []) if m.get("source", "train") == "random"]
    if not ranks(config):
        raise GktError("recommend.probe: probes are KL+DP runs with the settings of transfer.runs' kl_dp runs, and "
                       "transfer.runs has none: add kl_dp runs to transfer.runs or drop recommend.probe")
    jobs = {}
    for student in entry.get("students") or []:
        jobs[student] = probe_candidates(student, trained, controls, entry.get("teachers"), entry.get("top"),
                                         {"student": "recommend.probe.students", "teachers": "recommend.probe.teachers",
                                          "both": "recommend.probe: give teachers or top, not both"})
    return jobs
