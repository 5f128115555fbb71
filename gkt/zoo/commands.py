"""`gkt zoo-model`: make one zoo entry (train, random init, or pretrained) and record its metadata."""
from __future__ import annotations

import logging

from gkt.args import add_common, json_or_file
from gkt.errors import GktError

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("zoo-model", help="train / initialise / register one zoo model")
    add_common(p)
    p.add_argument("--model", type=json_or_file, required=True,
                   help="the zoo entry (inline JSON or file); with a whole config file, also --name")
    p.add_argument("--name", default=None, help="model name when --model is a whole config")
    p.add_argument("--zoo-dir", required=True, help="folder for <name>.safetensors and <name>.json")
    p.set_defaults(func=run)


def run(args) -> None:
    from gkt.data.factory import get_dataset
    from gkt.device import setup_torch
    from gkt.zoo.spec import ModelSpec
    from gkt.zoo.store import record_path, save_model
    from gkt.zoo.make import make_zoo_model

    device = setup_torch(args.threads)
    dataset = get_dataset(args.dataset)
    spec = ModelSpec.from_config(pick_model(args.model, args.name))
    model, record = make_zoo_model(spec, dataset, device)
    save_model(model, record, args.zoo_dir)
    log.info("zoo entry %s written to %s", spec.name, record_path(args.zoo_dir, spec.name))


def pick_model(entry_or_config: dict, name: str | None = None) -> dict:
    """A zoo entry given either directly or as a whole config plus a model name."""
    if "zoo" not in entry_or_config:
        return entry_or_config
    for entry in entry_or_config["zoo"]:
        if entry.get("name") == name:
            return entry
    raise GktError(f"model {name!r} is not in the config's zoo: add it under zoo: or fix the name")
