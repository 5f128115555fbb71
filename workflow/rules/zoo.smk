# One job per zoo model: train it, draw it at random, register pretrained weights, or fine-tune another
# zoo's model (source finetune: its job depends on the base's zoo record, gkt/zoo/finetune.py).


rule zoo_model:
    input:
        base=zoo_base_record,
    output:
        record=f"{ZOO_DIR}/{{model}}.json",
    params:
        model=lambda w: model_fragment(config, w.model),
        dataset=DATASET_JSON,
        zoo_dir=lambda w, output: os.path.dirname(output.record),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/zoo/{{model}}.log",
    threads: rule_threads(config, "zoo_model")
    resources:
        **rule_resources(config, "zoo_model", mem_mb=4000, runtime=30),
    shell:
        "gkt --log {log} zoo-model --dataset {params.dataset:q} --model {params.model:q}"
        " --zoo-dir {params.zoo_dir} --threads {threads}"

