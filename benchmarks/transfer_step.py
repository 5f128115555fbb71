"""Benchmark: seconds per transfer training step, KL vs KL+DP, cached targets vs live teacher forwards.

One (teacher, student) pair of the embedded zoo, built from the embedded config (random weights: the
cost of a step does not depend on them), on one fixed mnist5k batch. For each method (kl, kl_dp,
kl_dp_unsup) and targets mode (cached: teacher and frozen-student logits gathered from tables
computed once; live: teacher and frozen student forwarded every step) the gkt trainer's own
`Trainer.step` runs `--warmup` times, then `--steps` timed steps (configurations taking turns);
the median is reported.

    python benchmarks/transfer_step.py [--student vit_a] [--teacher resnet10t_a] [--threads 1]

Last line: `transfer step: kl_dp/kl = R.RRx; cached/live = S.SSx`, where kl_dp/kl compares live
steps (DP's worst case: it adds a forward of the frozen student) and cached/live is kl_dp's step
with cached targets over its live step.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from gkt.data.factory import get_dataset
from gkt.transfer.settings import resolve
from gkt.transfer.trainer import Participant, Split, Trainer
from gkt.zoo.build import create_model
from gkt.zoo.spec import ModelSpec
from gkt.zoo.transforms import model_transform

REPO = Path(__file__).resolve().parents[1]
METHODS = ("kl", "kl_dp", "kl_dp_unsup")


def participant(config: dict, name: str, dataset) -> Participant:
    entry = next((m for m in config["zoo"] if m["name"] == name), None)
    if entry is None:
        raise SystemExit(f"model {name!r} is not in the config's zoo")
    torch.manual_seed(0)
    model = create_model(ModelSpec.from_config(entry), dataset)
    return Participant(name, model, model_transform(model))


def prepared(config: dict, dataset, args, method: str, targets: str) -> Trainer:
    cfg = resolve(method)
    cfg.targets, cfg.batch_size = targets, args.batch_size
    student, teacher = participant(config, args.student, dataset), participant(config, args.teacher, dataset)
    # A small transfer set keeps the one-off target tables cheap; the timed batch is the same for all.
    rows = np.arange(args.batch_size * 2)
    trainer = Trainer(cfg, student, [teacher], Split(dataset.split("train"), dataset.labels("train"), rows),
                      Split(dataset.split("val"), dataset.labels("val"), np.arange(args.batch_size)),
                      args.tmp, torch.device("cpu"))
    trainer.prepare()
    trainer.student.model.train()
    return trainer


def time_steps(trainers: dict, args) -> dict:
    """Median seconds per step of each trainer; configurations take turns, so load drift on a
    shared machine hits them all alike."""
    batches = {key: next(t.train_batches()) for key, t in trainers.items()}
    times: dict = {key: [] for key in trainers}
    for i in range(args.warmup + args.steps):
        for key, trainer in trainers.items():
            start = time.perf_counter()
            trainer.step(*batches[key])
            if i >= args.warmup:
                times[key].append(time.perf_counter() - start)
    return {key: statistics.median(t) for key, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "workflow/config/embedded.yaml"))
    parser.add_argument("--student", default="vit_a")
    parser.add_argument("--teacher", default="resnet10t_a")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tmp", default="/tmp/gkt-transfer-step", help="scratch folder (the trainer's out dir)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(Path(args.config).read_text())
    dataset = get_dataset(config["dataset"])

    trainers = {(m, t): prepared(config, dataset, args, m, t) for m in METHODS for t in ("cached", "live")}
    results = time_steps(trainers, args)
    print(f"{args.teacher} -> {args.student}, batch {args.batch_size}, {args.threads} thread(s), "
          f"median of {args.steps} steps (ms/step)")
    print(f"{'method':<14}{'cached':>10}{'live':>10}{'cached/live':>13}")
    for m in METHODS:
        c, lv = results[(m, "cached")], results[(m, "live")]
        print(f"{m:<14}{c * 1e3:>10.2f}{lv * 1e3:>10.2f}{c / lv:>12.2f}x")
    print(f"kl_dp/kl with cached targets: {results[('kl_dp', 'cached')] / results[('kl', 'cached')]:.2f}x")
    dp_ratio = results[("kl_dp", "live")] / results[("kl", "live")]
    cached_ratio = results[("kl_dp", "cached")] / results[("kl_dp", "live")]
    print(f"transfer step: kl_dp/kl = {dp_ratio:.2f}x; cached/live = {cached_ratio:.2f}x")


if __name__ == "__main__":
    main()
