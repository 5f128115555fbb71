"""`gkt pairs`, `gkt complementary`, `gkt embed-classes`, `gkt semantic`: the paper's §3 study.

Every command takes its inputs and outputs as explicit paths, so a Snakemake rule maps onto it 1:1.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from gkt.args import add_common, json_or_file

log = logging.getLogger(__name__)

DATASET_HELP = "the config's dataset mapping, inline JSON or a YAML file (e.g. '{\"name\": \"mnist5k\"}')"


def register(sub) -> None:
    p = sub.add_parser("pairs", help="draw the (teacher, student) pair list of the complementary-knowledge study")
    p.add_argument("--models", nargs="+", required=True, help="zoo model names, the control included")
    p.add_argument("--control", default=None, help="the random-init control model: teacher of every student")
    p.add_argument("--pairs", default="all", help="config key pairs: `all` or JSON like '{\"n\": 466, \"seed\": 0}'")
    p.add_argument("--out", required=True, help="pair list Parquet (results/<dataset>/complementary/pair_list.parquet)")
    p.set_defaults(func=run_pairs)

    p = sub.add_parser("complementary", help="per-pair and per-class complementary-knowledge statistics")
    p.add_argument("--dataset", type=json_or_file, required=True, help=DATASET_HELP)
    p.add_argument("--pair-list", required=True, help="Parquet written by `gkt pairs`")
    p.add_argument("--logits-dir", required=True, help="folder of <model>.parquet caches (results/<dataset>/logits/val)")
    p.add_argument("--zoo-dir", required=True, help="the zoo whose models made the caches (results/<dataset>/zoo): "
                                                    "a cache made by another model or other weights is refused")
    p.add_argument("--out-pairs", required=True, help="pairs.parquet to write")
    p.add_argument("--out-per-class", required=True, help="per_class.parquet to write")
    p.set_defaults(func=run_complementary)

    p = sub.add_parser("embed-classes", help="text embeddings of the class names (CLIP if cached, else MiniLM)")
    add_common(p)
    p.add_argument("--fetch-clip", action="store_true",
                   help="download open_clip ViT-B-32 with OpenAI's weights (the paper's encoder) into the Hugging Face "
                        "cache when it is not there; offline (HF_HUB_OFFLINE=1) or without network: MiniLM, with a warning")
    p.add_argument("--out", required=True, help="class_embeddings.parquet to write")
    p.set_defaults(func=run_embed_classes)

    p = sub.add_parser("semantic", help="semantic similarity of each pair's top-X %% positive-flip classes")
    p.add_argument("--per-class", required=True, help="per_class.parquet written by `gkt complementary`")
    p.add_argument("--embeddings", required=True, help="class_embeddings.parquet written by `gkt embed-classes`")
    p.add_argument("--x", type=float, nargs="+", default=None, help="top-X percentages (default 2 5 10 20 50)")
    p.add_argument("--out", required=True, help="semantic.parquet to write")
    p.set_defaults(func=run_semantic)


def run_pairs(args) -> None:
    from gkt.complementary.pairs import PairSpec, sample_pairs, write_pair_list

    spec = PairSpec.parse(args.pairs)
    pairs = sample_pairs(args.models, args.control, spec)
    write_pair_list(pairs, args.control, spec, args.out)
    log.info("%d pairs written to %s", len(pairs), args.out)


def run_complementary(args) -> None:
    from tqdm import tqdm

    from gkt.complementary.pairs import read_pair_list
    from gkt.complementary.stats import pair_stats, pairs_table, per_class_table, stack_predictions
    from gkt.data.factory import get_dataset
    from gkt.errors import GktError
    from gkt.io import write_parquet
    from gkt.logits.cache import read_predictions
    from gkt.zoo.store import read_record

    pairs, control = read_pair_list(args.pair_list)
    dataset = get_dataset(args.dataset)
    models = list(dict.fromkeys(m for pair in pairs for m in pair))
    caches = {}
    for model in tqdm(models, desc="reading predictions", unit="model", disable=None):
        path = Path(args.logits_dir) / f"{model}.parquet"
        caches[model] = read_predictions(path, num_classes=dataset.num_classes, record=read_record(args.zoo_dir, model))
        if caches[model].meta["dataset"] != dataset.name:
            raise GktError(
                f"logits cache {path} was made on dataset {caches[model].meta['dataset']!r}, not {dataset.name!r}: "
                f"pass that dataset or point --logits-dir at {dataset.name}'s caches"
            )
    preds, labels = stack_predictions(caches)
    index = {m: i for i, m in enumerate(models)}
    log.info("statistics of %d pairs over %d samples, %d classes", len(pairs), len(labels), dataset.num_classes)
    stats = pair_stats(preds, labels, [(index[t], index[s]) for t, s in pairs], dataset.num_classes)

    first = next(iter(caches.values())).meta
    meta = {"dataset": json.dumps(dataset.name), "split": json.dumps(first["split"]), "control": json.dumps(control)}
    write_parquet(pairs_table(stats, pairs, control).replace_schema_metadata(meta), args.out_pairs)
    write_parquet(per_class_table(stats, pairs, dataset.class_names).replace_schema_metadata(meta), args.out_per_class)
    log.info("pair statistics written to %s and %s", args.out_pairs, args.out_per_class)


def run_embed_classes(args) -> None:
    from gkt.complementary.semantic import embed_class_names, embeddings_table
    from gkt.data.factory import get_dataset
    from gkt.device import setup_torch
    from gkt.io import write_parquet

    setup_torch(args.threads)  # the encoders run on the CPU: bound them to the job's threads
    names = get_dataset(args.dataset).class_names
    emb, encoder = embed_class_names(names, fetch=args.fetch_clip)
    write_parquet(embeddings_table(names, emb, encoder), args.out)
    log.info("%d class embeddings (%s, %d dims) written to %s", len(names), encoder, emb.shape[1], args.out)


def run_semantic(args) -> None:
    from gkt.complementary.semantic import read_embeddings, read_per_class, semantic_table
    from gkt.complementary.stats import TOP_X
    from gkt.io import write_parquet

    names, emb, encoder = read_embeddings(args.embeddings)
    table = semantic_table(read_per_class(args.per_class), names, emb, encoder, args.x or TOP_X)
    write_parquet(table, args.out)
    log.info("semantic similarity of %d pair/X rows (%s) written to %s", table.num_rows, encoder, args.out)
