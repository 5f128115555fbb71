#!/usr/bin/env bash
# GPU benchmarks of the data path, in one short run (under 5 minutes on one GPU); not yet run on a GPU.
#
#   bash benchmarks/gpu.sh [scratch folder, default /tmp/gkt-gpu]      (PYTHON=... to pick the interpreter)
#
# 1. logits throughput of resnet50 and vit_base_patch16_224 (random init, bf16 autocast, channels_last):
#    forward-only on a device-resident random batch (benchmarks/logits_throughput.py --synthetic-only)
#    against gkt's logits job (`gkt logits`: decoding workers, uint8 batches normalised on the GPU) on
#    synthetic ImageNet-size JPEGs (benchmarks/data_path.py writes them), and the two models of the
#    same preprocessing in one group job (`gkt logits-group`: one decode for both);
# 2. the transfer step: seconds per KL+DP step of a resnet50 student with cached targets on 224 px
#    inputs (gkt's Trainer on the GPU), and its epoch data time from the decoded-input cache.
# Every line that carries a figure starts with "gpu:"; the last one says how long the run took.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
GKT=$(dirname "$PY")/gkt
TMP=${1:-/tmp/gkt-gpu}
WORKERS=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))
PER_CLASS=${PER_CLASS:-512}  # val images per class (4 classes); half as many train images
BATCH=${BATCH:-256}          # logits batch size (PER_CLASS=4 BATCH=4 STEPS=3 BATCHES=1: a CPU smoke test)
export HF_HUB_OFFLINE=1 PYTHONPATH="$PWD/benchmarks${PYTHONPATH:+:$PYTHONPATH}"
rm -rf "$TMP" && mkdir -p "$TMP"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu: device /' || true

# Images and zoo: 2,048 val + 1,024 train JPEGs (PER_CLASS=512); resnet50, vit_base and a second resnet50 (another
# seed's weights, the same preprocessing) as zoo entries.
"$PY" - "$TMP" "$PER_CLASS" <<'PY'
import sys, time
from pathlib import Path
import torch
from data_path import write_folder, write_zoo
from gkt.data.factory import get_dataset
root, per_class = Path(sys.argv[1]), int(sys.argv[2])
start = time.perf_counter()
write_folder(root / "images", per_class, train_per_class=per_class // 2)
ds = get_dataset({"name": "imagenet", "root": str(root / "images")})
write_zoo(root / "zoo", ds, ("resnet50", "vit_base_patch16_224"))
torch.manual_seed(1)
import dataclasses, json, timm
from gkt.zoo.store import save_weights, weights_hash
m = timm.create_model("resnet50", num_classes=1000)
save_weights(m, root / "zoo" / "resnet50_b.safetensors")
rec = json.loads((root / "zoo" / "resnet50.json").read_text()) | {"name": "resnet50_b", "weights_hash": weights_hash(m)}
(root / "zoo" / "resnet50_b.json").write_text(json.dumps(rec))
print(f"gpu: setup {len(ds.labels('val'))} val + {len(ds.labels('train'))} train images and 3 models in "
      f"{time.perf_counter() - start:.0f} s")
PY
DS="{\"name\": \"imagenet\", \"root\": \"$TMP/images\"}"

# 1a. forward-only (synthetic input on the device).
"$PY" benchmarks/logits_throughput.py --models resnet50 vit_base_patch16_224 --batch-size "$BATCH" --synthetic-only \
    --batches "${BATCHES:-10}" | sed 's/^logits_throughput/gpu: logits_throughput/'

# 1b. gkt's logits jobs (the log line has images, seconds and img/s; the first run warms the file cache).
for model in resnet50 vit_base_patch16_224; do
    for run in warm timed; do
        "$GKT" --log "$TMP/logs/$model.$run.log" logits --dataset "$DS" --model "$model" --zoo-dir "$TMP/zoo" \
            --split val --out "$TMP/logits/$model.parquet" --batch-size "$BATCH" --workers "$WORKERS"
    done
    grep -o "$model/val: .*img/s" "$TMP/logs/$model.timed.log" | sed 's/^/gpu: logits job /'
done
"$GKT" --log "$TMP/logs/group.log" logits-group --dataset "$DS" --models resnet50,resnet50_b --group g \
    --zoo-dir "$TMP/zoo" --split val --cache-dir "$TMP/grouped" --manifest "$TMP/grouped/groups/g.json" \
    --batch-size "$BATCH" --workers "$WORKERS"
grep -o "resnet50+resnet50_b/val: .*decode)" "$TMP/logs/group.log" | sed 's/^/gpu: logits group /'

# 2. the transfer step and the epoch data time.
"$PY" - "$TMP" "$WORKERS" <<'PY'
import statistics, sys, time
from pathlib import Path
import numpy as np
import torch
from gkt.data.factory import get_dataset
from gkt.transfer.feed import Batches, Views
from gkt.transfer.settings import resolve
from gkt.transfer.trainer import Participant, Split, Trainer
from gkt.zoo.store import load_model
from gkt.zoo.transforms import model_transform
root, workers = Path(sys.argv[1]), int(sys.argv[2])
ds = get_dataset({"name": "imagenet", "root": str(root / "images")})
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # cpu: a smoke test of this script
sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
student, teacher = (load_model(n, root / "zoo", ds)[0] for n in ("resnet50", "resnet50_b"))
# 224 px for both (the paper's transfer resolution), whatever timm's test size is.
parts = [Participant(n, m, model_transform(m, eval_size="train")) for n, m in (("resnet50", student), ("resnet50_b", teacher))]
cfg = resolve("kl_dp")
cfg.batch_size, cfg.workers = min(128, n_train := len(ds.labels("train"))), workers
trainer = Trainer(cfg, parts[0], [parts[1]], Split(ds.split("train"), ds.labels("train")),
                  Split(ds.split("val"), ds.labels("val"), np.arange(min(256, len(ds.labels("val"))))), root / "transfer", dev)
start = time.perf_counter()
trainer.prepare()
print(f"gpu: transfer setup (targets for {n_train} images, val references) {time.perf_counter() - start:.1f} s")
trainer.student.model.train()
batch = next(trainer.train_batches())
times = []
for i in range(int(__import__("os").environ.get("STEPS", 25))):
    sync(); t0 = time.perf_counter()
    trainer.step(*batch)
    sync(); times.append(time.perf_counter() - t0)
step = statistics.median(times[len(times) // 5:])
b = cfg.batch_size
print(f"gpu: transfer step kl_dp resnet50 <- resnet50, batch {b} at 224 px, cached targets: {1e3 * step:.1f} ms/step "
      f"({b / step:.0f} img/s)")
order = torch.randperm(n_train)
t0 = time.perf_counter()
for views, labels, idx in trainer.train_batches(order):
    views[0].to(dev, non_blocking=True)
sync()
data = time.perf_counter() - t0
print(f"gpu: transfer epoch data time {data:.2f} s for {n_train} images ({n_train / data:.0f} img/s from the decoded "
      f"inputs; steps alone {n_train / b * step:.2f} s)")
PY
echo "gpu: done in ${SECONDS} s"
