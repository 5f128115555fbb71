"""Benchmark: images/s of logit caching against a model's forward-only throughput.

For each model, at the same batch size on the same device:
  * caching: gkt's real `predict_dataset` path, the dataset split through the model's own timm
    transform and a DataLoader (decode + transform + transfer + forward), over --limit images,
    median of --repeats passes after a one-batch warm-up;
  * forward-only: the model on a random tensor already on the device (same autocast / channels-last
    as predict_dataset), median batch time of --batches batches after one warm-up batch.
Medians, because a shared machine's other jobs make single timings swing by 2x.
Their ratio says whether caching is bound by the input pipeline (raise --workers, or use an ffcv
.beton for ImageNet) or by the model.

    python benchmarks/logits_throughput.py                       # CPU: two embedded models on mnist5k
    python benchmarks/logits_throughput.py --models resnet50 vit_base_patch16_224 --batch-size 256 \\
        --synthetic-only                                         # GPU: timm models, random init
    python benchmarks/logits_throughput.py --models resnet50 --dataset '{"name": "imagenet", "root": ...}' \\
        --batch-size 256 --workers 8 --limit 10000

--models takes entries of the embedded config (workflow/config/embedded.yaml, built as there) or timm
architecture names (random init, the dataset's class count; 1000 with --synthetic-only).
One summary line per model:
`logits_throughput: <model> batch <b> on <device>: caching X img/s (n images), forward-only Y img/s, caching/forward Z`.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import timm
import torch
import yaml

from gkt.args import json_or_file
from gkt.device import autocast, setup_torch
from gkt.inference import predict_dataset
from gkt.zoo.build import create_model
from gkt.zoo.spec import ModelSpec
from gkt.zoo.transforms import data_config, model_transform

REPO = Path(__file__).resolve().parents[1]
EMBEDDED = REPO / "workflow/config/embedded.yaml"


def build(name: str, dataset, num_classes: int) -> torch.nn.Module:
    entries = {e["name"]: e for e in yaml.safe_load(EMBEDDED.read_text())["zoo"]}
    torch.manual_seed(0)
    if name in entries:
        if dataset is None:
            raise SystemExit(f"{name} is an embedded-zoo model: it needs its dataset (drop --synthetic-only)")
        spec = ModelSpec.from_config({**entries[name], "source": "random"})
        return create_model(spec, dataset).eval()
    return timm.create_model(name, pretrained=False, num_classes=num_classes).eval()


@torch.inference_mode()
def forward_only(model, device, batch_size: int, batches: int) -> float:
    """images/s of the bare forward pass on device-resident random input."""
    model = model.to(device).eval()
    x = torch.randn(batch_size, *data_config(model)["input_size"], device=device)
    if device.type == "cuda":
        model, x = model.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)

    def step():
        with autocast(device):
            model(x).float()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up (cuDNN autotune, allocator)
    sync()
    times = []
    for _ in range(batches):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times)  # the median resists other jobs on a shared machine


def caching(model, dataset, split: str, device, batch_size: int, workers: int, limit: int,
            repeats: int) -> tuple[float, int]:
    """images/s of gkt's predict_dataset over the first `limit` images of the split: median of
    `repeats` passes after a one-batch warm-up."""
    data = dataset.split(split, model_transform(model))
    n = min(limit, len(data))
    predict_dataset(model, torch.utils.data.Subset(data, range(min(batch_size, n))), device, batch_size, workers)
    subset = torch.utils.data.Subset(data, range(n))
    rates = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        logits = predict_dataset(model, subset, device, batch_size, workers)
        rates.append(n / (time.perf_counter() - start))
        assert logits.shape[0] == n
    return statistics.median(rates), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet10t_a", "vit_a"])
    parser.add_argument("--dataset", type=json_or_file, default={"name": "mnist5k", "seed": 0})
    parser.add_argument("--split", default="val")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--limit", type=int, default=1000, help="images of the split to cache")
    parser.add_argument("--batches", type=int, default=8, help="timed forward-only batches (median)")
    parser.add_argument("--repeats", type=int, default=3, help="timed caching passes (median)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--synthetic-only", action="store_true", help="forward-only; no dataset needed")
    args = parser.parse_args()

    device = setup_torch(args.threads)
    dataset = None
    if not args.synthetic_only:
        from gkt.data.factory import get_dataset

        dataset = get_dataset(args.dataset)
    num_classes = dataset.num_classes if dataset is not None else 1000
    threads = torch.get_num_threads()
    print(f"# device {device}{' ' + torch.cuda.get_device_name() if device.type == 'cuda' else ''}, "
          f"{threads} CPU threads, torch {torch.__version__}, timm {timm.__version__}, "
          f"dataset {json.dumps(args.dataset) if dataset is not None else 'none (synthetic only)'}")
    for name in args.models:
        model = build(name, dataset, num_classes)
        size = "x".join(map(str, data_config(model)["input_size"]))
        fwd = forward_only(model, device, args.batch_size, args.batches)
        if args.synthetic_only:
            print(f"logits_throughput: {name} ({size}) batch {args.batch_size} on {device}: "
                  f"forward-only {fwd:.0f} img/s")
            continue
        rate, n = caching(model, dataset, args.split, device, args.batch_size, args.workers, args.limit, args.repeats)
        print(f"logits_throughput: {name} ({size}) batch {args.batch_size} on {device}: caching {rate:.0f} img/s "
              f"({n} images, {args.workers} workers), forward-only {fwd:.0f} img/s, caching/forward {rate / fwd:.2f}")


if __name__ == "__main__":
    main()
