# Paper §3: complementary knowledge between (teacher, student) pairs of zoo models
# (docs/method.md#complementary-knowledge).
# Shared names come from common.smk (MODELS includes the control).
#
# The statistics depend only on the pair list and the val logits caches: adding a model reruns
# `complementary` over all pairs (seconds even at ImageNet scale), never any inference.
from gkt.data.checks import dataset_type

COMPLEMENTARY = f"{RESULTS}/complementary"


rule pair_list:
    output:
        pair_list=f"{COMPLEMENTARY}/pair_list.parquet",
    params:
        models=MODELS,
        control=["--control", CONTROL] if CONTROL else [],
        pairs=as_json(config["pairs"]),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/complementary/pair_list.log",
    threads: rule_threads(config, "pair_list")
    resources:
        **rule_resources(config, "pair_list", mem_mb=1000, runtime=5),
    shell:
        "gkt --log {log} pairs --models {params.models:q} {params.control:q} --pairs {params.pairs:q} --out {output}"


rule complementary:
    input:
        pair_list=rules.pair_list.output.pair_list,
        logits=expand(f"{LOGITS_DIR}/val/{{model}}.parquet", model=MODELS),
    output:
        pairs=f"{COMPLEMENTARY}/pairs.parquet",
        per_class=f"{COMPLEMENTARY}/per_class.parquet",
    params:
        dataset=DATASET_JSON,
        logits_dir=lambda w, input: os.path.dirname(input.logits[0]),
        zoo_dir=ZOO_DIR,  # the caches' makers: a cache of another model or other weights is refused
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/complementary/complementary.log",
    threads: rule_threads(config, "complementary")
    resources:
        **rule_resources(config, "complementary", mem_mb=4000, runtime=20),
    shell:
        "gkt --log {log} complementary --dataset {params.dataset:q} --pair-list {input.pair_list} --logits-dir {params.logits_dir}"
        " --zoo-dir {params.zoo_dir} --out-pairs {output.pairs} --out-per-class {output.per_class}"


# The paper embeds ImageNet's class names with CLIP: for ImageNet-labelled data the job fetches open_clip
# ViT-B-32 with OpenAI's weights into the HF cache where there is network (README: the cache-filling step
# runs it); offline, or for other data, it takes what the cache holds, else MiniLM with a warning.
rule embed_classes:
    output:
        embeddings=f"{COMPLEMENTARY}/class_embeddings.parquet",
    params:
        dataset=DATASET_JSON,
        fetch="--fetch-clip" if dataset_type(config["dataset"]) == "imagenet" else "",
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/complementary/embed_classes.log",
    threads: rule_threads(config, "embed_classes", 2)
    resources:
        **rule_resources(config, "embed_classes", mem_mb=4000, runtime=30),
    shell:
        "gkt --log {log} embed-classes --dataset {params.dataset:q} {params.fetch} --threads {threads} --out {output}"


rule semantic:
    input:
        per_class=rules.complementary.output.per_class,
        embeddings=rules.embed_classes.output.embeddings,
    output:
        semantic=f"{COMPLEMENTARY}/semantic.parquet",
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/complementary/semantic.log",
    threads: rule_threads(config, "semantic")
    resources:
        **rule_resources(config, "semantic", mem_mb=2000, runtime=10),
    shell:
        "gkt --log {log} semantic --per-class {input.per_class} --embeddings {input.embeddings} --out {output}"

