# The results database (issue 3): results/<dataset>/gkt.duckdb, documented views over every output.
# Names from common.smk: RESULTS, ZOO_DIR, MODELS, GKT_ENV, TARGETS, rule_resources.
#
# The database holds only views (read_parquet / read_json over the files), so it is rebuilt in a
# second whenever an output it reads changes; views of stages that have not run yet are empty.
# Include after complementary.smk and transfer.smk: the transfer rule file defines TRANSFER_OUTPUTS
# (the runs' metrics.parquet paths; entries may be input functions of a checkpoint). Looked up when
# the DAG is built, so this file works with and without the transfer stage.
DATABASE = f"{RESULTS}/gkt.duckdb"


def transfer_outputs(wildcards):
    """The transfer stage's metrics.parquet files (none before transfer.smk exists)."""
    files = []
    for item in globals().get("TRANSFER_OUTPUTS", []):
        found = item(wildcards) if callable(item) else item
        files += [found] if isinstance(found, str) else list(found)
    return files


def database_inputs(wildcards):
    complementary = [
        f"{RESULTS}/complementary/{name}.parquet"
        for name in ("pairs", "per_class", "semantic", "class_embeddings")
    ]
    return (
        [f"{ZOO_DIR}/{m}.json" for m in MODELS]
        + [f"{RESULTS}/logits/val/{m}.parquet" for m in MODELS]
        + complementary
        + transfer_outputs(wildcards)
    )


rule database:
    input:
        database_inputs,
    output:
        DATABASE,
    params:
        results=RESULTS,
    localrule: True
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/db/database.log",
    threads: 1
    resources:
        **rule_resources(config, "database", mem_mb=1000, runtime=5),
    shell:
        "gkt db --results {params.results} --out {output} 2> {log}"


TARGETS += [DATABASE]
