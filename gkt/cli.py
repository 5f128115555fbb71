"""`gkt` command line: one subcommand per pipeline step, each a thin wrapper over the package.

Each stage registers its own subcommands (`gkt/<stage>/commands.py: register(subparsers)`), so the
CLI reads like the pipeline and no stage edits another's parser.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from gkt.errors import GktError

# Pipeline order; each module defines `register(subparsers)`.
STAGES = (
    "gkt.data.commands",
    "gkt.zoo.commands",
    "gkt.logits.commands",
    "gkt.complementary.commands",
    "gkt.transfer.commands",
    "gkt.db.commands",
    "gkt.figures.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gkt", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in STAGES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return args.func(args) or 0
    except GktError as e:
        print(f"gkt: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
