# One job per (split, model): the logits cache that every later stage reads.


rule logits:
    input:
        record=f"{ZOO_DIR}/{{model}}.json",
    output:
        f"{RESULTS}/logits/{{split}}/{{model}}.parquet",
    wildcard_constraints:
        split="train|val",
    params:
        dataset=DATASET_JSON,
        zoo_dir=lambda w, input: os.path.dirname(input.record),
        batch_size=config["logits"]["batch_size"],
        workers=config["logits"]["workers"],
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/logits/{{split}}/{{model}}.log",
    threads: rule_threads(config, "logits")
    resources:
        **rule_resources(config, "logits", mem_mb=4000, runtime=20, gpu=0),
    shell:
        "gkt --log {log} logits --dataset {params.dataset:q} --model {wildcards.model} --zoo-dir {params.zoo_dir}"
        " --split {wildcards.split} --out {output} --batch-size {params.batch_size}"
        " --workers {params.workers} --threads {threads}"


TARGETS += expand(f"{RESULTS}/logits/val/{{model}}.parquet", model=MODELS)
