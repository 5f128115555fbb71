# Which teacher to transfer from (docs/method.md#teacher-ranking), the stage after transfer: the
# pair statistics of every ordered pair of the zoo, the probes of `recommend.probe` (short KL+DP runs,
# docs/method.md#probe-ranking), the teacher ranking of every student with its leave-one-student-out
# validation against the measured KL+DP runs, and the `recommend.improve` runs of the config
# (gkt/recommend/jobs.py). Shared names come from common.smk.
from gkt.recommend.jobs import METHOD, PROBE_DIR, improve_folder, probe_spec

RECOMMEND_DIR = f"{RESULTS}/recommend"
# The ranking counts the DP routing share on the transfer set of the config's KL+DP runs; the probes are
# those runs, shortened.
KL_DP_SETTINGS = as_json(dataclasses.asdict(transfer_config(METHOD)))
IMPROVE_BY_FOLDER = {improve_folder(*job): job for job in IMPROVE_JOBS}
PROBE_SPEC = probe_spec(config)
# Without KL+DP runs to fit the ranking to (RANKS, common.smk), only the all-pairs statistics are made.

# What the ranking reads: every zoo record and cache, and the KL+DP runs it is fitted to.
RANKING_INPUTS = {
    "records": expand(f"{ZOO_DIR}/{{model}}.json", model=MODELS),
    "val": expand(f"{LOGITS_DIR}/val/{{model}}.parquet", model=MODELS),
    "train": expand(f"{LOGITS_DIR}/train/{{model}}.parquet", model=MODELS),
}


rule all_pairs:
    input:
        records=RANKING_INPUTS["records"],
        val=RANKING_INPUTS["val"],
    output:
        all_pairs=f"{RECOMMEND_DIR}/all_pairs.parquet",
    params:
        results=lambda w, input: os.path.dirname(os.path.dirname(input.records[0])),  # results/<name>
        models=MODELS,
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/recommend/all_pairs.log",
    threads: rule_threads(config, "all_pairs")
    resources:
        **rule_resources(config, "all_pairs", mem_mb=4000, runtime=10),
    shell:
        "gkt --log {log} all-pairs --results {params.results} --models {params.models:q} --out {output.all_pairs}"


rule recommend:
    input:
        **RANKING_INPUTS,
        transfer=lambda w: [p for p in transfer_outputs(w) if f"/{METHOD}/" in p],
        probes=expand(f"{RESULTS}/{PROBE_DIR}/{{student}}.parquet", student=PROBE_JOBS),
    output:
        ranking=f"{RECOMMEND_DIR}/ranking.parquet",
        validation=f"{RECOMMEND_DIR}/validation.parquet",
    params:
        results=lambda w, input: os.path.dirname(os.path.dirname(input.records[0])),  # results/<name>
        settings=KL_DP_SETTINGS,
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/recommend/recommend.log",
    threads: rule_threads(config, "recommend")
    resources:
        **rule_resources(config, "recommend", mem_mb=4000, runtime=20),
    shell:
        "gkt --log {log} recommend --results {params.results} --settings {params.settings:q}"
        " --out-ranking {output.ranking} --out-validation {output.validation}"


rule probe:
    input:
        **RANKING_INPUTS,
        # Only `top: N` reads the fitted ranking, which is fitted to the KL+DP runs.
        transfer=lambda w: [p for p in transfer_outputs(w) if f"/{METHOD}/" in p] if PROBE_SPEC.top else [],
    output:
        probes=f"{RESULTS}/{PROBE_DIR}/{{student}}.parquet",
    wildcard_constraints:
        student=MODEL_RE,
    params:
        dataset=DATASET_JSON,
        eval_size=EVAL_SIZE,
        results=lambda w, input: os.path.dirname(os.path.dirname(input.records[0])),  # results/<name>
        settings=KL_DP_SETTINGS,
        candidates=lambda w: (f"--probe-teachers {' '.join(PROBE_JOBS[w.student])}" if PROBE_JOBS[w.student]
                              else f"--probe-top {PROBE_SPEC.top}" if PROBE_SPEC.top else ""),
        epochs=lambda w: PROBE_SPEC.epochs,
        holdout=lambda w: PROBE_SPEC.holdout_per_class,
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/recommend/probe/{{student}}.log",
    threads: rule_threads(config, "transfer")
    resources:
        **TRANSFER_RESOURCES,
    shell:
        "gkt --log {log} probe --dataset {params.dataset:q} --results {params.results} --eval-size {params.eval_size}"
        " --student {wildcards.student} {params.candidates} --probe-epochs {params.epochs}"
        " --probe-holdout {params.holdout} --settings {params.settings:q} --out {output.probes} --threads {threads}"


rule improve:
    input:
        # gkt improve ranks the teachers again from the same inputs (the same ranking, computed the same way).
        ranking=rules.recommend.output.ranking,
        **RANKING_INPUTS,
    output:
        improve=f"{RECOMMEND_DIR}/improve/{{folder}}/improve.parquet",
    params:
        dataset=DATASET_JSON,
        eval_size=EVAL_SIZE,
        results=lambda w, input: os.path.dirname(os.path.dirname(input.ranking)),  # results/<name>
        settings=KL_DP_SETTINGS,
        job=lambda w: IMPROVE_BY_FOLDER[w.folder],
        out=lambda w, output: os.path.dirname(output.improve),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/recommend/improve/{{folder}}.log",
    threads: rule_threads(config, "transfer")
    resources:
        **TRANSFER_RESOURCES,
    shell:
        "gkt --log {log} improve --dataset {params.dataset:q} --results {params.results} --eval-size {params.eval_size}"
        " --student {params.job[0]} --teachers {params.job[1]} --ranker {params.job[2]} --settings {params.settings:q}"
        " --out {params.out:q} --threads {threads}"

