"""`gkt logits`: cache one model's logits on one split."""
from __future__ import annotations

from gkt.config import add_common


def register(sub) -> None:
    p = sub.add_parser("logits", help="cache a zoo model's logits on a split to Parquet")
    add_common(p)
    p.add_argument("--model", required=True, help="zoo model name")
    p.add_argument("--zoo-dir", required=True)
    p.add_argument("--split", default="val", help="train or val")
    p.add_argument("--out", required=True, help="Parquet path, e.g. results/<dataset>/logits/val/<model>.parquet")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers (image decoding)")
    p.set_defaults(func=run)


def run(args) -> None:
    from gkt.data.registry import get_dataset
    from gkt.device import setup_torch
    from gkt.logits.compute import cache_logits

    device = setup_torch(args.threads)
    cache_logits(args.model, args.zoo_dir, get_dataset(args.dataset), args.split, args.out,
                 device, args.batch_size, args.workers)
