# Paper §4–5: knowledge transfer between zoo models (docs/method.md#transfer-methods to #transfer-protocol).
# Shared names and the transfer helpers come from common.smk.
#
# One job per (method, pair) in results/<ds>/transfer/<method>/<teacher>__<student>/, one per
# multi-teacher run in transfer/multi_<mode>-<method>/<t1+t2+...>__<student>/ (the greedy soup is
# written by the soup job to multi_soup_greedy-<method>/; folder format in
# gkt/transfer/vocabulary.py, run_path). The jobs come from the config's `transfer:` section
# (gkt/transfer/jobs.py). Runs drawn at random from pairs above a ρ_pos threshold depend on the pair
# statistics, so they are planned in the checkpoint `transfer_plan`; explicit runs need no checkpoint.

from gkt.transfer import vocabulary as vocab
from gkt.transfer.jobs import random_runs

MULTI_TEACHERS_RE = rf"{MODEL_RE}(?:\+{MODEL_RE})+"
MULTI_DIR = f"{TRANSFER_DIR}/{vocab.MULTI_PREFIX}{{mode}}{vocab.MODE_SEP}{{method}}/{{teachers}}__{{student}}"
GREEDY_DIR = MULTI_DIR.replace("{mode}", vocab.GREEDY_SOUP)




rule transfer:
    input:
        unpack(lambda w: transfer_inputs(w.method, [w.teacher], w.student)),
    output:
        **{name.split(".")[0]: f"{TRANSFER_DIR}/{{method}}/{{teacher}}__{{student}}/{name}" for name in TRANSFER_FILES},
    wildcard_constraints:
        method=vocab.SINGLE_METHOD_RE,
        teacher=MODEL_RE,
        student=MODEL_RE,
    params:
        dataset=DATASET_JSON,
        eval_size=EVAL_SIZE,
        zoo_dir=lambda w, input: os.path.dirname(input.student_record),
        logits_dir=lambda w, input: os.path.dirname(os.path.dirname(input.student_val)),
        settings=lambda w: as_json(dataclasses.asdict(transfer_config(w.method))),
        out=lambda w, output: os.path.dirname(output.metrics),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/transfer/{{method}}/{{teacher}}__{{student}}.log",
    threads: rule_threads(config, "transfer")
    resources:
        **TRANSFER_RESOURCES,
    shell:
        "gkt --log {log} transfer --dataset {params.dataset:q} --zoo-dir {params.zoo_dir} --logits-dir {params.logits_dir}"
        " --eval-size {params.eval_size} --method {wildcards.method} --teacher {wildcards.teacher} --student {wildcards.student}"
        " --settings {params.settings:q} --out {params.out:q} --threads {threads}"


rule transfer_multi:
    input:
        unpack(lambda w: transfer_inputs(multi_job(w).method, w.teachers.split("+"), w.student)),
    output:
        **{name.split(".")[0]: f"{MULTI_DIR}/{name}" for name in TRANSFER_FILES},
    wildcard_constraints:
        mode="|".join(m for m in vocab.MULTI_MODES if m != "soup"),
        method=vocab.METHOD_RE,
        teachers=MULTI_TEACHERS_RE,
        student=MODEL_RE,
    params:
        dataset=DATASET_JSON,
        eval_size=EVAL_SIZE,
        zoo_dir=lambda w, input: os.path.dirname(input.student_record),
        logits_dir=lambda w, input: os.path.dirname(os.path.dirname(input.student_val)),
        method=lambda w: w.method,  # a param as before, so that finished runs are not rerun for a changed param set
        order=lambda w: multi_job(w).order,
        teachers=lambda w: w.teachers.split("+"),
        settings=lambda w: as_json(dataclasses.asdict(transfer_config(w.method))),
        out=lambda w, output: os.path.dirname(output.metrics),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/transfer/{vocab.MULTI_PREFIX}{{mode}}{vocab.MODE_SEP}{{method}}/{{teachers}}__{{student}}.log",
    threads: rule_threads(config, "transfer")
    resources:
        **TRANSFER_RESOURCES,
    shell:
        "gkt --log {log} transfer-multi --mode {wildcards.mode} --dataset {params.dataset:q} --zoo-dir {params.zoo_dir}"
        " --logits-dir {params.logits_dir} --eval-size {params.eval_size} --method {params.method} --teachers {params.teachers:q}"
        " --student {wildcards.student} --order {params.order} --settings {params.settings:q}"
        " --out {params.out:q} --threads {threads}"


rule transfer_soup:
    input:
        unpack(lambda w: transfer_inputs(multi_job(w, "soup").method, w.teachers.split("+"), w.student)),
    output:
        **{f"uniform_{name.split('.')[0]}": f"{MULTI_DIR}/{name}".replace("{mode}", "soup") for name in TRANSFER_FILES},
        **{f"greedy_{name.split('.')[0]}": f"{GREEDY_DIR}/{name}" for name in TRANSFER_FILES},
    wildcard_constraints:
        method=vocab.METHOD_RE,
        teachers=MULTI_TEACHERS_RE,
        student=MODEL_RE,
    params:
        dataset=DATASET_JSON,
        eval_size=EVAL_SIZE,
        zoo_dir=lambda w, input: os.path.dirname(input.student_record),
        logits_dir=lambda w, input: os.path.dirname(os.path.dirname(input.student_val)),
        method=lambda w: w.method,
        holdout=lambda w: multi_job(w, "soup").holdout,
        teachers=lambda w: w.teachers.split("+"),
        settings=lambda w: as_json(dataclasses.asdict(transfer_config(w.method))),
        out=lambda w, output: os.path.dirname(output.uniform_metrics),
        greedy=lambda w, output: os.path.dirname(output.greedy_metrics),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/transfer/{vocab.MULTI_PREFIX}soup{vocab.MODE_SEP}{{method}}/{{teachers}}__{{student}}.log",
    threads: rule_threads(config, "transfer")
    resources:
        **TRANSFER_RESOURCES,
    shell:
        "gkt --log {log} transfer-multi --mode soup --dataset {params.dataset:q} --zoo-dir {params.zoo_dir}"
        " --logits-dir {params.logits_dir} --eval-size {params.eval_size} --method {params.method} --teachers {params.teachers:q}"
        " --student {wildcards.student} --holdout {params.holdout} --settings {params.settings:q}"
        " --out {params.out:q} --out-greedy {params.greedy:q} --threads {threads}"


if random_runs(TRANSFER):

    checkpoint transfer_plan:
        input:
            pairs=f"{RESULTS}/complementary/pairs.parquet",
        output:
            plan=f"{TRANSFER_DIR}/plan.json",
        params:
            transfer=as_json(TRANSFER),
            models=MODELS,
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        shell:
            "gkt transfer-plan --transfer {params.transfer:q} --pairs {input.pairs:q} --models {params.models:q}"
            " --out {output.plan:q}"
