"""Write gkt/transfer/methods.json: the card of every registered loss (its hyperparameters with defaults
and ranges, label, group, colour; gkt.transfer.vocabulary.MethodCard), as its class declares it. The
readers that must not import torch (Snakemake at parse time, the config checks) read this file;
tests/test_losses.py fails when it differs from the classes.

    python scripts/method_cards.py          # after adding or changing a loss in gkt/transfer/losses.py
"""
from __future__ import annotations

import json

from gkt.transfer.objectives import LOSSES
from gkt.transfer.vocabulary import CARDS_FILE


def cards_json() -> str:
    lines = [f"  {json.dumps(name)}: {json.dumps(cls.card.to_json())}" for name, cls in sorted(LOSSES.items())]
    return "{\n" + ",\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    CARDS_FILE.write_text(cards_json())
    print(f"{len(LOSSES)} method cards written to {CARDS_FILE}")
