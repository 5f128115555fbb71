"""`gkt` command line: one subcommand per pipeline step, each a thin wrapper over the package.

Each stage registers its own subcommands (`gkt/<stage>/commands.py: register(subparsers)`), so the
CLI reads like the pipeline and no stage edits another's parser.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys
import traceback

from gkt.errors import GktError

# Pipeline order; each module defines `register(subparsers)`.
STAGES = (
    "gkt.data.commands",
    "gkt.zoo.commands",
    "gkt.logits.commands",
    "gkt.complementary.commands",
    "gkt.transfer.commands",
    "gkt.recommend.commands",
    "gkt.db.commands",
    "gkt.figures.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gkt", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--log", metavar="FILE", default=None,
                        help="write progress, log lines and tracebacks to FILE; the error line also goes to the "
                             "terminal (what the Snakemake rules use, so a failing job says why where you look)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in STAGES:
        importlib.import_module(name).register(sub)
    return parser


def _log_to(path: str):
    """Send this process's stderr (log lines, progress bars, tracebacks, C-level output) to `path`;
    returns the terminal's stderr, for the one line a user must see."""
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), "w")
    with open(path, "w") as f:
        os.dup2(f.fileno(), 2)
    return terminal


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    terminal = _log_to(args.log) if args.log else None
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if terminal is not None:
        # A warning changes what a run means (a fallback, a skipped input): the user sees it where
        # they look, not only in the job's log.
        warnings = logging.StreamHandler(terminal)
        warnings.setLevel(logging.WARNING)
        warnings.setFormatter(logging.Formatter("gkt: %(levelname)s: %(message)s"))
        logging.getLogger().addHandler(warnings)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)
        if terminal is not None:
            print(line, file=terminal, flush=True)

    try:
        return args.func(args) or 0
    except GktError as e:
        say(f"gkt: error: {_message(e)}")
        return 2
    except Exception as e:
        if terminal is not None:
            traceback.print_exc()  # into the log
        if isinstance(e, OSError) and e.errno in STORAGE_ERRORS:
            say(f"gkt: error: {_storage_line(e)}")
            return 2
        if terminal is None:
            raise
        say(f"gkt: error: {args.command} failed unexpectedly ({type(e).__name__}: {' '.join(str(e).split())[:300]}); "
            f"the traceback is in {args.log}")
        return 1


# Errors of the file system, not of gkt: which file and the fix are all a user needs (the writes are
# atomic, so nothing half-written is left).
STORAGE_ERRORS = {
    errno.ENOSPC: "free space there (or write elsewhere) and rerun",
    errno.EDQUOT: "free space within your quota (or write elsewhere) and rerun",
    errno.EACCES: "fix its permissions (or write elsewhere) and rerun",
    errno.EROFS: "write to a writable file system and rerun",
}


def _storage_line(e: OSError) -> str:
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f) or "writing a file"
    return f"{where}: {e.strerror or os.strerror(e.errno)}: {STORAGE_ERRORS[e.errno]}"


def _message(e: GktError) -> str:
    """A GktError raised in a DataLoader worker comes back with the worker's traceback before its own
    message (torch re-raises it as `GktError("Caught GktError in DataLoader worker ...")`): its last
    line is the message."""
    text = str(e).strip()
    if "\n" not in text:
        return text
    return text.splitlines()[-1].removeprefix(f"{GktError.__module__}.{GktError.__qualname__}: ")


if __name__ == "__main__":
    sys.exit(main())
