# Several single-teacher transfer runs per job (config transfer.batch: runs per job, default 1 = one
# job per run, the shape for clusters where a run takes hours). On the embedded zoo a run trains in
# seconds while a process needs seconds to import torch and timm: batching removes that start-up.
# Each batch is a rule of its own (transfer_batch_<i>) with the concrete outputs of its runs, and is
# preferred over the one-run rule `transfer` for them; runs drawn by the transfer_plan checkpoint
# keep one job each. A changed setting of one run reruns its batch: the other runs of the batch then
# resume from their final checkpoints and only rewrite their outputs.
# Shared names come from common.smk. Included after transfer.smk: a batch rule is preferred over the
# one-run rule `transfer` (ruleorder below), which must exist first.
from gkt.workflow import transfer_batches

for _i, _batch in enumerate(transfer_batches(TRANSFER_JOBS.values(), TRANSFER.get("batch", 1))):

    rule:
        name:
            f"transfer_batch_{_i}"
        input:
            **batch_inputs(_batch),
        output:
            [f"{TRANSFER_DIR}/{job.path}/{name}" for job in _batch for name in TRANSFER_FILES],
        params:
            dataset=DATASET_JSON,
            eval_size=EVAL_SIZE,
            zoo_dir=lambda w, input: os.path.dirname(input.records[0]),
            logits_dir=lambda w, input: os.path.dirname(os.path.dirname(input.val[0])),
            runs=as_json([{"method": job.method, "teacher": job.teacher, "student": job.student,
                           "settings": dataclasses.asdict(transfer_config(job.method)),
                           "out": f"{TRANSFER_DIR}/{job.path}"} for job in _batch]),
        conda:
            GKT_ENV
        log:
            f"{RESULTS}/logs/transfer/batch_{_i}.log",
        threads: rule_threads(config, "transfer")
        resources:
            **TRANSFER_RESOURCES,
        shell:
            "gkt --log {log} transfer-batch --dataset {params.dataset:q} --zoo-dir {params.zoo_dir}"
            " --logits-dir {params.logits_dir} --eval-size {params.eval_size} --runs {params.runs:q} --threads {threads}"

    workflow.ruleorder(f"transfer_batch_{_i}", "transfer")
