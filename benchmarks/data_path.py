"""Benchmark: the data path on CPU — logits groups against one model per job, and decoded transfer inputs.

It writes a synthetic ImageNet-style folder (JPEGs of ImageNet's typical sizes, 350-500 x 280-400 px,
smooth content like photographs rather than noise) and a zoo of 6 random-init timm models in 2
preprocessing groups (224 px bicubic at crop 0.875, and at crop 0.9), then measures:

  * data path (on one thread, as in a DataLoader worker): decoding, resizing and normalising the val
    images into every model's input, per model (each model through its own timm transform: 6
    decodes per image) against grouped (one decode per group, then each model's normalisation of
    the batch: gkt.zoo.transforms.split_eval), model inputs/s;
  * logits stage: wall time of the stage's jobs run one after another as the workflow runs them, one
    process per job: one `gkt logits` per model, against `gkt logits-geometry`, one `gkt logits-group`
    per group and each model's `gkt logits --shared` that moves its cache into place;
  * transfer epoch: the data time of one epoch of a student's transfer batches (gkt.transfer.feed
    `Batches`), decoding every image every epoch against reading the images decoded once from the
    input cache's memory-mapped file (the one-time decode is printed too).

Each in-process timing is the median of --repeats runs after one untimed run; the logits stage runs
--stage-repeats times after one untimed job, on its own --stage-images images (few, as in the embedded
zoo: there process start-up is what grouping saves; with many images every job is the models' compute).
Last line:
`data path: grouped/per-model = R.RRx; logits stage = S.SSx; transfer epoch with cached inputs = T.TTx`
(each a speed-up: per-model time over grouped time, streaming epoch over cached epoch).

    python benchmarks/data_path.py [--images 200] [--threads 2] [--repeats 3] [--stage-images 40] [--tmp DIR]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import timm
import torch
from PIL import Image

from gkt.data.factory import get_dataset
from gkt.inference import loader
from gkt.io import write_json
from gkt.logits.groups import chunk
from gkt.transfer.feed import Batches, Views
from gkt.zoo.families import arch_family, family
from gkt.zoo.record import ModelRecord
from gkt.zoo.store import save_weights, weights_hash
from gkt.zoo.transforms import data_config, geometry_key, model_transform, split_eval

# Two groups of three: 224 px bicubic at crop 0.875 (ImageNet mean) and at crop 0.9 (two means).
ZOO = ("mobilenetv3_small_050", "lcnet_050", "regnetx_002", "vit_tiny_patch16_224", "deit_tiny_patch16_224",
       "levit_128s")
SYNSETS = ("n01440764", "n01443537", "n01484850", "n01491361")  # tench, goldfish, white shark, tiger shark
CPU = torch.device("cpu")


def write_folder(root: Path, per_class: int, train_per_class: int | None = None, seed: int = 0) -> None:
    """JPEGs of ImageNet's typical sizes with photo-like content (smooth fields plus a little grain)."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", train_per_class or per_class), ("val", per_class)):
        for synset in SYNSETS:
            folder = root / split / synset
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                w, h = int(rng.integers(350, 501)), int(rng.integers(280, 401))
                coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
                grain = rng.normal(0, 6, (h, w, 3))
                img = np.clip(np.asarray(coarse, dtype=np.float64) + grain, 0, 255).astype(np.uint8)
                Image.fromarray(img).save(folder / f"{synset}_{i}.JPEG", quality=90)


def write_zoo(zoo: Path, dataset, archs=ZOO) -> dict[str, torch.nn.Module]:
    """Random-init models as zoo entries (source: random, weights here), as the zoo stage writes them."""
    models = {}
    for arch in archs:
        torch.manual_seed(0)
        model = timm.create_model(arch, num_classes=dataset.num_classes).eval()
        save_weights(model, zoo / f"{arch}.safetensors")
        record = ModelRecord(name=arch, arch=arch, source="random", family=family(arch), arch_family=arch_family(arch),
                             params=sum(p.numel() for p in model.parameters()), num_classes=dataset.num_classes,
                             dataset=dataset.name, weights_hash=weights_hash(model))
        write_json(dataclasses.asdict(record), zoo / f"{arch}.json")
        models[arch] = model
    return models


def median_times(fns, repeats: int, warmup: bool = True) -> list[float]:
    """Median seconds of `repeats` calls of each function, after one untimed call of each (first-use
    costs, the file cache). The functions take turns, so a shared machine's load drift hits all alike."""
    if warmup:
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def data_path(models: dict, dataset, batch_size: int, repeats: int) -> tuple[float, float, float]:
    """Seconds to make every model's inputs of the val split: per model, grouped; and to decode and
    resize the split once per group (no normalisation), which the cost model splits the times with."""
    transforms = {n: model_transform(m) for n, m in models.items()}

    def per_model():
        for t in transforms.values():
            for x, _ in loader(dataset.split("val", t), CPU, batch_size, 0):
                pass

    def grouped():
        groups: dict[str, list] = {}
        for t in transforms.values():
            geometry, norm = split_eval(t)
            groups.setdefault(repr(geometry), [geometry, []])[1].append(norm)
        for geometry, norms in groups.values():
            for x, _ in loader(dataset.split("val", geometry), CPU, batch_size, 0):
                for norm in norms:
                    norm(x)

    def decode_only():
        for geometry in {repr(g): g for g, _ in map(split_eval, transforms.values())}.values():
            for x, _ in loader(dataset.split("val", geometry), CPU, batch_size, 0):
                pass

    return tuple(median_times([per_model, grouped, decode_only], repeats))


def gkt(*args) -> None:
    subprocess.run([str(Path(sys.executable).parent / "gkt"), *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def logits_stage(root: Path, cfg: dict, models: dict, batch_size: int, threads: int, repeats: int) -> tuple[float, float]:
    """Wall time of the logits stage's jobs (val split of `cfg`), one process each: per model, and grouped."""
    zoo, ds = root / "zoo", json.dumps(cfg)
    common = ["--dataset", ds, "--zoo-dir", zoo, "--split", "val", "--batch-size", batch_size, "--threads", threads]
    keys = {n: geometry_key(data_config(m)) for n, m in models.items()}
    groups: dict[str, list[str]] = {}
    for n, g in chunk(list(models), keys, 8).items():
        groups.setdefault(g, []).append(n)

    def per_model():
        out = root / "alone"
        shutil.rmtree(out, ignore_errors=True)
        for n in models:
            gkt("logits", *common, "--model", n, "--out", out / f"{n}.parquet")

    def grouped():
        out = root / "grouped"
        shutil.rmtree(out, ignore_errors=True)
        entries = [{"name": n, "arch": n, "source": "random"} for n in models]
        gkt("logits-geometry", "--dataset", ds, "--zoo", json.dumps(entries), "--out", out / "geometry.json")
        for g, members in groups.items():
            gkt("logits-group", *common, "--models", ",".join(members), "--group", g, "--cache-dir", out,
                "--manifest", out / "groups" / f"{g}.json")
            for n in members:
                gkt("logits", *common, "--model", n, "--out", out / f"{n}.parquet", "--shared", out / "groups" / f"{g}.json")

    # Every timed run starts its processes as the workflow does; one untimed job first brings the
    # libraries and the images into the file cache for both.
    gkt("logits", *common, "--model", next(iter(models)), "--out", root / "warmup.parquet")
    return tuple(median_times([per_model, grouped], repeats, warmup=False))


def transfer_epoch(models: dict, dataset, cache: Path, batch_size: int, repeats: int) -> tuple[float, float, float]:
    """Data seconds of one epoch of a student's transfer batches: decoding every epoch, from the input
    cache; and the input cache's one-time decode."""
    student = model_transform(models["vit_tiny_patch16_224"])
    labels = dataset.labels("train")
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    # A transform that does not split is what streams: today's path for sets over MATERIALISE_BYTES.
    stream = Batches(Views(dataset.split("train"), labels, [lambda img: student(img)]), batch_size, memory_bytes=0)
    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    cached = Batches(Views(dataset.split("train"), labels, [student]), batch_size, memory_bytes=0, cache_dir=cache)
    decode = time.perf_counter() - start
    assert cached.images is not None and not isinstance(cached.images[0].array, torch.Tensor)

    def epoch(batches):
        return lambda: [None for _ in batches(order)]

    return (*median_times([epoch(stream), epoch(cached)], repeats), decode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="images per split (val and train)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of each logits job (the models' compute)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the in-process measurements")
    parser.add_argument("--stage-images", type=int, default=40,
                        help="val images of the logits-stage measurement: few, as in the embedded zoo, where each "
                             "job's start-up weighs")
    parser.add_argument("--stage-repeats", type=int, default=3, help="timed runs of the logits stage (a minute or two each)")
    parser.add_argument("--tmp", default="/tmp/gkt-data-path", help="scratch folder (images, zoo, caches)")
    args = parser.parse_args()
    # Decoding runs in DataLoader workers, which torch runs on one thread each: so does this process.
    # (With more threads the per-image path's small tensor operations pay for thread wake-ups, which
    # on a loaded machine makes it look far slower than it is.) --threads goes to the logits jobs.
    torch.set_num_threads(1)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    root = Path(args.tmp)
    shutil.rmtree(root, ignore_errors=True)
    write_folder(root / "images", -(-args.images // len(SYNSETS)))
    cfg = {"name": "imagenet", "root": str(root / "images")}
    dataset = get_dataset(cfg)
    n = len(dataset.labels("val"))
    models = write_zoo(root / "zoo", dataset)
    keys = {name: geometry_key(data_config(m)) for name, m in models.items()}
    print(f"zoo: {len(models)} models in {len(set(keys.values()))} preprocessing groups: "
          + "; ".join(f"{k}: {', '.join(m for m in keys if keys[m] == k)}" for k in sorted(set(keys.values()))))
    sizes = [Image.open(p).size for p, _ in dataset.split("val").samples[:50]]
    print(f"images: {n} val + {len(dataset.labels('train'))} train JPEGs, mean {np.mean([w for w, _ in sizes]):.0f} x "
          f"{np.mean([h for _, h in sizes]):.0f} px, {np.mean([os.path.getsize(p) for p, _ in dataset.split('val').samples]) / 1e3:.0f} kB")

    per, grp, dec = data_path(models, dataset, args.batch_size, args.repeats)
    r = per / grp
    groups = len(set(keys.values()))
    print(f"data path: per model {len(models) * n / per:.0f} model-inputs/s ({per:.2f} s), grouped "
          f"{len(models) * n / grp:.0f} model-inputs/s ({grp:.2f} s): {r:.2f}x")
    decode = dec / (groups * n)
    print(f"per image, one thread: decode + resize + crop {1e3 * decode:.2f} ms; then per model: its own "
          f"ToTensor + Normalize {1e3 * (per / (len(models) * n) - decode):.2f} ms, or normalising the shared "
          f"uint8 batch {1e3 * (grp - dec) / (len(models) * n):.2f} ms")

    write_folder(root / "stage", -(-args.stage_images // len(SYNSETS)))
    stage = {"name": "imagenet", "root": str(root / "stage")}
    per_s, grp_s = logits_stage(root, stage, models, args.batch_size, args.threads, args.stage_repeats)
    s = per_s / grp_s
    n_stage = len(get_dataset(stage).labels("val"))
    print(f"logits stage ({len(models)} models, {n_stage} val images, jobs one after another): one model per job "
          f"{per_s:.1f} s, grouped {grp_s:.1f} s: {s:.2f}x")

    stream, cached, once = transfer_epoch(models, dataset, root / "input-cache", args.batch_size, args.repeats)
    t = stream / cached
    m = len(dataset.labels("train"))
    print(f"transfer epoch ({m} images, vit_tiny's 224 px inputs): decoding every epoch {stream:.2f} s "
          f"({1e3 * stream / m:.2f} ms/image), from the input cache {cached:.3f} s ({1e3 * cached / m:.2f} ms/image; "
          f"decoded once in {once:.2f} s): {t:.2f}x")
    print(f"data path: grouped/per-model = {r:.2f}x; logits stage = {s:.2f}x; transfer epoch with cached inputs = {t:.2f}x")


if __name__ == "__main__":
    main()
