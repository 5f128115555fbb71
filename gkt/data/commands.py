"""`gkt write-beton`: store one dataset split as an ffcv `.beton` (optional extra gkt[ffcv])."""
from __future__ import annotations

from gkt.args import add_common


def register(sub) -> None:
    p = sub.add_parser("write-beton", help="write a dataset split to an ffcv .beton (needs gkt[ffcv])")
    add_common(p)
    p.add_argument("--split", required=True, help="train or val (always the full split: dataset.train_per_class is applied when reading)")
    p.add_argument("--out", required=True, help="the .beton path; then set dataset.ffcv.<split> to it")
    p.add_argument("--write-mode", default="jpg", choices=("jpg", "raw", "smart", "proportion"),
                   help="jpg: re-encode as JPEG (default); raw: exact decoded pixels, ~10x the space")
    p.add_argument("--jpeg-quality", type=int, default=95)
    p.add_argument("--max-resolution", type=int, default=None,
                   help="shrink images whose longer side is larger (default: keep every image's size)")
    p.add_argument("--workers", type=int, default=None, help="writer processes (default: all cores)")
    p.set_defaults(func=run)


def run(args) -> None:
    from gkt.data.factory import get_dataset
    from gkt.data.ffcv import write_beton

    # From the images themselves, and the whole split: the reader takes the train_per_class subset,
    # so one train .beton serves every subset size and seed.
    cfg = {k: v for k, v in args.dataset.items() if k not in ("ffcv", "train_per_class")}
    write_beton(get_dataset(cfg), args.split, args.out, max_resolution=args.max_resolution,
                jpeg_quality=args.jpeg_quality, write_mode=args.write_mode, workers=args.workers)
