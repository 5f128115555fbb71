"""The config's `recommend:` section (no torch: Snakemake imports this at parse time).

    recommend:
      improve:                      # sequential KL+DP from a student's top-K ranked teachers
        - {student: vit_a, teachers: 3}

Each entry is one `gkt improve` job, results in recommend/improve/<student>__top<K>/.
"""
from __future__ import annotations

from gkt.errors import GktError

METHOD = "kl_dp"  # the transfer whose outcome is predicted (docs/method.md#kl-dist-with-data-partitioning)


def ranks(config: dict) -> bool:
    """Whether the config has KL+DP runs to fit the teacher ranking to: the ranking reads every model's
    train cache (at paper scale a pass over the transfer split per model), which is wasted without them."""
    return any(METHOD in run.get("methods", []) for run in (config.get("transfer") or {}).get("runs") or [])


def improve_jobs(config: dict) -> list[tuple[str, int]]:
    """(student, K) of every `recommend.improve` entry, checked against the zoo before any job starts."""
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
        if (student, k) not in jobs:
            jobs.append((student, k))
    return jobs
