"""Helpers the Snakemake rule files share: they turn the validated config into rule parameters."""
from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path


def as_json(obj) -> str:
    """Config fragment for a command line: sorted, so an unchanged fragment keeps its params hash
    and Snakemake reruns exactly the jobs whose fragment changed."""
    return json.dumps(obj, sort_keys=True)


def model_fragment(config: dict, name: str) -> str:
    """A zoo entry with the config's recipe defaults folded in."""
    spec = next(dict(m) for m in config["zoo"] if m["name"] == name)
    if spec.get("source", "train") == "train":
        spec["recipe"] = {**config.get("train_defaults", {}), **spec.get("recipe", {})}
    return as_json(spec)


def sql_key(*patterns: str, root: str | Path | None = None) -> str:
    """A digest of the SQL files gkt ships that match `patterns` (globs under gkt/sql, or `root`): a rule's
    param, so that Snakemake's params trigger rebuilds the database, or renders the figures again, when gkt's
    queries change (a new gkt version), which no input file would show."""
    root = Path(root) if root is not None else Path(str(resources.files("gkt").joinpath("sql")))
    digest = hashlib.sha256()
    for path in sorted({p for pattern in patterns for p in root.glob(pattern)}):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def rule_resources(config: dict, rule: str, **defaults) -> dict:
    """Rule defaults (sized for the embedded zoo), overridden by config `resources: {rule: {...}}`."""
    return {**defaults, **config.get("resources", {}).get(rule, {})}


def rule_threads(config: dict, rule: str, default: int = 1) -> int:
    return config.get("threads", {}).get(rule, default)


def transfer_batches(jobs, size: int) -> list[list]:
    """The config's single-teacher transfer jobs in batches of `size` runs (sorted by run folder, so a
    batch keeps its runs while the config does not change); none when `size` is 1."""
    if size <= 1:
        return []
    single = sorted((job for job in jobs if job.mode is None), key=lambda job: job.path)
    return [single[i:i + size] for i in range(0, len(single), size)]


def quiet_terminal_full_log(manager) -> None:
    """Route Snakemake's job blocks (`manager`: the run's snakemake.logging.LoggerManager). Snakemake
    applies one `--quiet` to the terminal and to its log file alike, and its `rules` quietness hides
    the blocks of failing jobs too. Here the log file keeps every block (a job's reason and inputs
    are what one reads after a run), failing jobs' blocks always reach the terminal, and a dry run
    shows its plan in full: the quiet profile (workflow/profiles/default) quiets running jobs only."""
    from snakemake.logging import DefaultFilter, DefaultFormatter
    from snakemake_interface_logger_plugins.common import LogEvent

    s = manager.settings
    everything = DefaultFilter(set(), s.debug_dag, s.verbose, s.dryrun, s.printshellcmds)
    for handler in manager.logfile_handlers:
        handler.filters = [everything]
        handler.setFormatter(DefaultFormatter(set(), s.show_failed_logs))
    errors = (LogEvent.JOB_ERROR, LogEvent.GROUP_ERROR)
    for handler in manager.logger.handlers:
        if handler.name != "DefaultStreamHandler" or not handler.filters:
            continue
        quiet = handler.filters[0]
        if s.dryrun:
            handler.filters = [everything]
            handler.setFormatter(DefaultFormatter(set(), s.show_failed_logs))
        elif not getattr(quiet, "lets_errors_through", False):
            def through(record, quiet=quiet):
                return getattr(record, "event", None) in errors or quiet.filter(record)

            through.lets_errors_through = True
            handler.filters = [through]


def end_jobs_on_hangup(signum, frame):
    """SIGHUP (the terminal closed) takes SIGTERM's path, the one SLURM takes at a time limit: the
    running jobs are ended (each with its shell's children) and Snakemake records them as failed, so
    the same command resumes. By default SIGHUP would end Snakemake alone, and its jobs would run on
    as orphans, writing results that no run records."""
    import os
    import signal

    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    os.kill(os.getpid(), signal.SIGTERM)
