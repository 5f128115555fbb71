"""`gkt logits`: cache one model's logits on one split; `gkt logits-group`: a group of models that
share decoding; `gkt logits-geometry`: every zoo model's geometry key (gkt.logits.groups)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from gkt.args import add_common, json_or_file
from gkt.zoo.transforms import add_eval_size


def _add_run_options(p) -> None:
    p.add_argument("--zoo-dir", required=True)
    p.add_argument("--split", default="val", help="train or val")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers (image decoding)")
    add_eval_size(p)


def register(sub) -> None:
    p = sub.add_parser("logits", help="cache a zoo model's logits on a split to Parquet")
    add_common(p)
    p.add_argument("--model", required=True, help="zoo model name")
    p.add_argument("--out", required=True, help="Parquet path, e.g. results/<dataset>/logits/val/<model>.parquet")
    p.add_argument("--shared", default="", help="a logits group's manifest: move the cache it staged for this "
                                                "model into place instead of computing it (if it was staged)")
    _add_run_options(p)
    p.set_defaults(func=run)

    g = sub.add_parser("logits-group", help="cache the logits of models with the same preprocessing, decoding once")
    add_common(g)
    g.add_argument("--models", required=True, help="zoo model names, comma-separated")
    g.add_argument("--group", required=True, help="the group's name (gkt.logits.groups)")
    g.add_argument("--cache-dir", required=True, help="where the models' caches live: results/<dataset>/logits/<split>")
    g.add_argument("--manifest", required=True, help="the group's manifest, e.g. <cache-dir>/groups/<group>.json")
    _add_run_options(g)
    g.set_defaults(func=run_group)

    m = sub.add_parser("logits-geometry", help="every zoo model's preprocessing geometry, for the logits groups")
    add_common(m)
    m.add_argument("--zoo", type=json_or_file, required=True, help="the zoo entries (inline JSON list or a file)")
    add_eval_size(m)
    m.add_argument("--out", required=True, help="JSON path, e.g. results/<dataset>/logits/geometry.json")
    m.set_defaults(func=run_geometry)


def _request(args, model: str) -> tuple[str, float] | None:
    from gkt.logits.groups import record_weights, request_key

    record = record_weights(args.zoo_dir, model)
    if record is None:
        return None
    return request_key(args.dataset, args.split, args.eval_size, args.batch_size, args.workers, record[0]), record[1]


def run(args) -> None:
    request = _request(args, args.model)
    if args.shared and request:
        from gkt.logits.groups import take_staged

        if take_staged(args.shared, args.model, request[0], args.out):
            return  # no torch import on this path: a grouped model's own job only moves its cache
    from gkt.data.factory import get_dataset
    from gkt.device import setup_torch
    from gkt.logits.compute import cache_logits

    device = setup_torch(args.threads)
    cache_logits(args.model, args.zoo_dir, get_dataset(args.dataset), args.split, args.out,
                 device, args.batch_size, args.workers, args.eval_size, request[0] if request else None)


def run_group(args) -> None:
    import logging

    from gkt.logits.groups import current, staged_path, write_manifest

    log = logging.getLogger(__name__)
    models = [m for m in args.models.split(",") if m]
    status, todo, requests = {}, [], {}
    for m in models:
        request = _request(args, m)
        if request is None:
            status[m] = "no zoo record"  # its own logits job reports it
            continue
        requests[m] = request[0]
        if current(Path(args.cache_dir) / f"{m}.parquet", *request):
            status[m] = "current"
        else:
            todo.append(m)
    staging = staged_path(args.manifest, "x").parent
    shutil.rmtree(staging, ignore_errors=True)  # what an earlier run staged is not for this one
    if todo:
        from gkt.data.factory import get_dataset
        from gkt.device import setup_torch
        from gkt.logits.compute import cache_group

        device = setup_torch(args.threads)
        cache_group(todo, args.zoo_dir, get_dataset(args.dataset), args.split,
                    {m: staged_path(args.manifest, m) for m in todo}, device, args.batch_size, args.workers,
                    args.eval_size, requests)
        status.update({m: "staged" for m in todo})
    log.info("logits group %s (%s): %s", args.group, args.split,
             ", ".join(f"{m} {s}" for m, s in status.items()))
    write_manifest(args.manifest, args.group, status)


def run_geometry(args) -> None:
    import logging

    import torch

    from gkt.data.factory import get_dataset
    from gkt.errors import GktError
    from gkt.io import write_json
    from gkt.logits.groups import spec_key
    from gkt.zoo.build import create_model
    from gkt.zoo.spec import ModelSpec
    from gkt.zoo.transforms import data_config, geometry_key

    if not isinstance(args.zoo, list):
        raise GktError("--zoo must be a list of zoo entries (the config's zoo:)")
    dataset = get_dataset(args.dataset)
    log = logging.getLogger(__name__)
    models = {}
    for entry in args.zoo:
        spec = ModelSpec.from_config({k: v for k, v in entry.items() if k in ModelSpec.__dataclass_fields__})
        try:
            with torch.device("meta"):  # the cfg is all that is needed: no weights allocated, none loaded
                model = create_model(spec, dataset, pretrained=False)
            cfg = json.loads(json.dumps(data_config(model, args.eval_size)))
            key = geometry_key(cfg)
        except Exception as e:  # a plan only: the group job reads each model's own transform anyway
            log.warning("%s: no geometry from its config (%s: %s): it gets a logits group of its own",
                        spec.name, type(e).__name__, " ".join(str(e).split())[:200])
            cfg, key = None, f"model-{spec.name}"
        models[spec.name] = {"spec": spec_key(entry, args.dataset, args.eval_size), "key": key, "config": cfg}
    keys = {m["key"] for m in models.values()}
    log.info("%d models, %d preprocessing geometries at the %s size -> %s", len(models), len(keys), args.eval_size,
             args.out)
    write_json({"eval_size": args.eval_size, "models": models}, args.out)
