"""Plain helpers shared by several test modules (fixtures live in tests/conftest.py).

* `snakemake(workdir, ...)`: run the repository's workflow for real;
* `SYNSETS`, `write_image_folder(root, synsets, per_class)`: a tiny ImageNet-style ImageFolder;
* `Proc`: what the `gkt` fixture returns for one in-process command;
* `make_results(root, ...)`: a small results folder written through the real writers of every stage
  (zoo records, logits caches, pair statistics, semantic similarity, transfer metrics), which
  tests/test_db.py and tests/test_figures.py build the database and every figure from.
"""
from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def snakemake(workdir, *args, config="workflow/config/micro.yaml", check=True):
    """Run the repository's workflow for real, with its outputs under `workdir`."""
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(REPO / config), "--cores", "2", *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def write_image_folder(root, synsets, per_class, size=40, sizes=None):
    """JPEGs of noise, `size` x `size + 8` px; with `sizes`, a list of (width, height) cycled over the images
    (ImageNet's typical 500 x 375, 375 x 500, ...), smooth colour fields that vary across an image, as photos do."""
    rng = np.random.default_rng(0)
    n = 0
    for split in ("train", "val"):
        for s in synsets:
            d = root / split / s
            d.mkdir(parents=True)
            for i in range(per_class):
                if sizes is None:
                    img = Image.fromarray(rng.integers(0, 255, size=(size, size + 8, 3), dtype=np.uint8))
                else:
                    img = smooth_image(rng, sizes[n % len(sizes)])
                    n += 1
                img.save(d / f"{s}_{i}.JPEG")


def smooth_image(rng, size) -> Image.Image:
    """A smooth colour field of `size` (width, height): 6 x 8 random colours, bicubically enlarged."""
    return Image.fromarray(rng.integers(0, 255, size=(6, 8, 3), dtype=np.uint8)).resize(size, Image.BICUBIC)


SYNSETS = ["n01440764", "n01443537", "n02085620"]  # tench, goldfish, Chihuahua (index 151)


class Proc:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


# --- make_results: a results folder of every stage ----------------------------------------------
C, N, N_TRAIN = 20, 1000, 400  # classes, val samples (50 per class), train samples (20 per class)
# name, family, arch_family, params, accuracy
MODELS = [
    ("cnn_s", "cnn", "resnet", 300_000, 0.70),
    ("cnn_m", "cnn", "resnet", 1_200_000, 0.78),
    ("cnn_l", "cnn", "convnext", 5_000_000, 0.86),
    ("vit_s", "transformer", "vit", 500_000, 0.73),
    ("vit_l", "transformer", "vit", 4_000_000, 0.89),
    ("mixer", "mlp", "mixer", 800_000, 0.66),
    ("hybrid", "hybrid", "coatnet", 2_000_000, 0.81),
]
CONTROL = "control"
STUDENTS = ["cnn_s", "vit_s", "cnn_l", "vit_l", "mixer"]
METHODS = ["kl", "xekl", "xekl_ls", "kl_topk", "xekl_mcl", "kl_dp", "kl_dp_unsup", "cd", "crd"]
# share of positive flips gained and of right samples lost by the end of a run, per method
RATES = {"kl": (0.55, 0.10), "xekl": (0.5, 0.08), "xekl_ls": (0.5, 0.06), "kl_topk": (0.5, 0.09),
         "xekl_mcl": (0.3, 0.02), "kl_dp": (0.4, 0.012), "kl_dp_unsup": (0.38, 0.015), "cd": (0.45, 0.15),
         "crd": (0.45, 0.14)}
EPOCHS = 3
MULTI = {  # method -> (student, teachers) of the multi-teacher runs
    "kl_dp": ("vit_s", ["cnn_m", "cnn_l", "hybrid"]),
    "kl": ("cnn_s", ["mixer", "vit_s", "hybrid"]),
}


def _predictions(rng, labels, acc_per_class):
    right = rng.random(len(labels)) < acc_per_class[labels]
    wrong = (labels + rng.integers(1, C, len(labels))) % C
    return np.where(right, labels, wrong)


def _logits(rng, pred):
    z = rng.normal(0, 0.5, (len(pred), C)).astype(np.float32)
    z[np.arange(len(pred)), pred] += 4.0
    return z


def _transfer_rows(keys, labels, s_pred, t_preds, method, rng, epochs=EPOCHS, hp=None, start=0):
    """Epoch rows (through gkt.transfer.metrics.transfer_metrics) and the final predictions."""
    from gkt.transfer.metrics import transfer_metrics

    gain_rate, loss_rate = RATES[method]
    weaker = max(0.0, float((s_pred == labels).mean() - (t_preds == labels).mean(1).max()))
    if method not in ("kl_dp", "kl_dp_unsup", "xekl_mcl"):
        loss_rate += 0.6 * weaker  # plain distillation overwrites more with weaker teachers
    pos = (t_preds == labels).any(0) & (s_pred != labels)
    u_gain, u_loss = rng.random(len(labels)), rng.random(len(labels))
    dp = method in ("kl_dp", "kl_dp_unsup")
    rows, pred = [], s_pred
    for epoch in range(start, epochs + 1):
        f = epoch / epochs
        pred = s_pred.copy()
        pred[pos & (u_gain < gain_rate * f)] = labels[pos & (u_gain < gain_rate * f)]
        lost = (s_pred == labels) & (u_loss < loss_rate * f)
        pred[lost] = (labels[lost] + 1) % C
        shares = (0.72 + rng.normal(0, 0.03), 0.09 + rng.normal(0, 0.02)) if dp and epoch > 0 else (math.nan, math.nan)
        rows.append({**keys, "epoch": epoch, **transfer_metrics(labels, s_pred, pred, t_preds),
                     "dp_pos_to_teacher": shares[0], "dp_neg_to_teacher": shares[1], "seconds": 1.5,
                     **(hp or {"lr": 1e-4, "temperature": 1.0, "lam": 1.0})})
    return rows, pred


def make_results(root: Path, dataset: str = "toyset", *, complementary=True, transfer=True, domain_shift=False,
                 methods=METHODS, multi=True, seed=0, recommend=True) -> Path:
    """A results folder written by the pipeline's own writers: zoo records, val and train logits caches,
    pair statistics (+ semantic), single- and multi-teacher transfer runs, and (with `recommend`, after
    complementary and transfer) the recommend stage's all-pairs statistics, ranking and validation. With
    `domain_shift`, the zoo record of teacher `hybrid` names another dataset (a domain-shifted teacher, Fig. 10)."""
    from gkt.complementary.pairs import PairSpec, sample_pairs, write_pair_list
    from gkt.complementary.semantic import embeddings_table, read_per_class, semantic_table
    from gkt.complementary.stats import pair_stats, pairs_table, per_class_table, stack_predictions
    from gkt.io import write_json, write_parquet
    from gkt.logits.cache import read_predictions, write_logits
    from gkt.transfer.metrics import per_class_transfer, write_metrics, write_per_class
    from gkt.transfer.vocabulary import run_keys, run_path
    from gkt.zoo.store import ModelRecord

    rng = np.random.default_rng(seed)
    results = Path(root) / "results" / dataset
    labels = np.repeat(np.arange(C), N // C)
    train_labels = np.repeat(np.arange(C), N_TRAIN // C)
    names = [f"class_{c:02d}" for c in range(C)]
    preds = {}
    for name, family, arch_family, params, acc in MODELS + [(CONTROL, "cnn", "resnet", 300_000, 1.0 / C)]:
        per_class = np.clip(acc + rng.normal(0, 0.12, C), 0.02, 0.99) if name != CONTROL else np.full(C, 1.0 / C)
        pred = _predictions(rng, labels, per_class)
        path = results / "logits" / "val" / f"{name}.parquet"
        write_logits(path, _logits(rng, pred), labels, {"model": name, "architecture": arch_family,
                                                        "dataset": dataset, "split": "val", "transform": {},
                                                        "weights_hash": name})
        cache = read_predictions(path, num_classes=C)
        preds[name] = cache
        train_pred = _predictions(rng, train_labels, np.clip(per_class + 0.1, 0.02, 0.995))  # fits its train split
        write_logits(results / "logits" / "train" / f"{name}.parquet", _logits(rng, train_pred), train_labels,
                     {"model": name, "architecture": arch_family, "dataset": dataset, "split": "train",
                      "transform": {}, "weights_hash": name})
        record = ModelRecord(name=name, arch=arch_family, source="random" if name == CONTROL else "train",
                             family=family, arch_family=arch_family, params=params, num_classes=C,
                             dataset="infograph" if (domain_shift and name == "hybrid") else dataset,
                             weights_hash=name, top1=cache.top1, kwargs={"depth": 2}, recipe={"epochs": 1})
        write_json(asdict(record), results / "zoo" / f"{name}.json")

    models = [m[0] for m in MODELS] + [CONTROL]
    if complementary:
        comp = results / "complementary"
        spec = PairSpec(n=None)
        pairs = sample_pairs(models, CONTROL, spec)
        write_pair_list(pairs, CONTROL, spec, comp / "pair_list.parquet")
        matrix, labels_ = stack_predictions(preds)
        index = {m: i for i, m in enumerate(preds)}
        stats = pair_stats(matrix, labels_, [(index[t], index[s]) for t, s in pairs], C)
        write_parquet(pairs_table(stats, pairs, CONTROL), comp / "pairs.parquet")
        write_parquet(per_class_table(stats, pairs, names), comp / "per_class.parquet")
        emb = rng.normal(0, 1, (C, 16)).astype(np.float32)
        emb[: C // 2] += 1.5  # half the classes form a semantic cluster
        write_parquet(embeddings_table(names, emb, "test-encoder"), comp / "class_embeddings.parquet")
        write_parquet(semantic_table(read_per_class(comp / "per_class.parquet"), names, emb, "test-encoder"),
                      comp / "semantic.parquet")

    if transfer:
        out = results / "transfer"
        teachers = [m[0] for m in MODELS]
        for method in methods:
            for student in STUDENTS:
                for teacher in teachers:
                    if teacher == student:
                        continue
                    keys = run_keys(method, teacher, student)
                    s_pred, t_preds = preds[student].pred, preds[teacher].pred[None]
                    rows, final = _transfer_rows(keys, labels, s_pred, t_preds, method, rng)
                    run = out / method / f"{teacher}__{student}"
                    write_metrics(rows, run / "metrics.parquet")
                    write_per_class(per_class_transfer(labels, s_pred, final, t_preds, C), run / "per_class.parquet")
        for method, (student, ts) in (MULTI if multi else {}).items():
            s_pred, t_preds = preds[student].pred, np.stack([preds[t].pred for t in ts])
            joined = "+".join(ts)
            for mode in ("sequential", "parallel", "soup", "soup_greedy"):
                keys = run_keys(method, joined, student, mode)
                if mode == "sequential":
                    epochs = EPOCHS * len(ts)
                    rows, final = _transfer_rows(keys, labels, s_pred, t_preds, method, rng, epochs=epochs)
                elif mode == "parallel":
                    rows, final = _transfer_rows(keys, labels, s_pred, t_preds, method, rng)
                else:  # a soup has the initial and the final row only, no DP shares
                    rows, final = _transfer_rows(keys, labels, s_pred, t_preds, method, rng)
                    rows = [{**r, "dp_pos_to_teacher": math.nan, "dp_neg_to_teacher": math.nan}
                            for r in (rows[0], rows[-1])]
                run = out / run_path(method, joined, student, mode)
                write_metrics(rows, run / "metrics.parquet")
                write_per_class(per_class_transfer(labels, s_pred, final, t_preds, C), run / "per_class.parquet")
                if mode == "soup":
                    for t in ts:
                        rows, _ = _transfer_rows(run_keys(method, t, student), labels, s_pred, preds[t].pred[None],
                                                 method, rng)
                        write_metrics(rows, run / "ingredients" / t / "metrics.parquet")
    if recommend and complementary and transfer:
        from gkt.cli import main
        from gkt.recommend.schemas import PROBE_SCHEMA

        out = results / "recommend"
        # Probes of the KL+DP students (as `gkt probe` writes them): a noisy reading of the run's outcome.
        for student in STUDENTS if "kl_dp" in methods else []:
            rows = []
            for teacher in (m[0] for m in MODELS if m[0] != student):
                final = pq.read_table(results / "transfer" / "kl_dp" / f"{teacher}__{student}" / "metrics.parquet")
                delta = 0.5 * final.column("delta_transf")[-1].as_py() + rng.normal(0, 0.002)
                rows.append({"student": student, "teacher": teacher, "probe_delta_transf": delta,
                             "probe_delta_transf_se": 0.002, "gain": max(delta, 0) + 0.01,
                             "loss": max(-delta, 0) + 0.01, "acc_before": 0.7, "acc_after": 0.7 + delta, "epochs": 1,
                             "run_epochs": EPOCHS, "transfer_images": 100, "holdout_images": 50, "seconds": 0.5,
                             "folder": f"recommend/probe/kl_dp/{teacher}__{student}"})
            write_parquet(pa.Table.from_pylist(rows, schema=PROBE_SCHEMA), out / "probe" / f"{student}.parquet")
        assert main(["all-pairs", "--results", str(results), "--out", str(out / "all_pairs.parquet")]) == 0
        assert main(["recommend", "--results", str(results), "--out-ranking", str(out / "ranking.parquet"),
                     "--out-validation", str(out / "validation.parquet")]) == 0
    return results


def tiny_zoo(results: Path, dataset, names, **spec) -> Path:
    """Tiny CNNs (`spec`: ModelSpec fields besides name and seed; seed = position in `names`) saved in
    `results`/zoo with both logits caches in `results`/logits; returns `results`."""
    import torch

    from gkt.logits.compute import cache_logits
    from gkt.zoo.spec import ModelSpec
    from gkt.zoo.store import save_model
    from gkt.zoo.make import make_zoo_model

    for seed, name in enumerate(names):
        model, record = make_zoo_model(ModelSpec(name=name, seed=seed, **spec), dataset, torch.device("cpu"))
        save_model(model, record, results / "zoo")
        for split in ("train", "val"):
            cache_logits(name, results / "zoo", dataset, split, results / "logits" / split / f"{name}.parquet",
                         torch.device("cpu"))
    return results
