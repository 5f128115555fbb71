# The results database: results/<dataset>/gkt.duckdb, documented views over every output.
# Names from common.smk: RESULTS, ZOO_DIR, MODELS, GKT_ENV, TARGETS, STUDY_RESULTS, rule_resources.
#
# The database holds only views (read_parquet / read_json over the files), so it is rebuilt in a
# second whenever an output it reads changes; views of stages that have not run yet are empty.
# Its inputs come from common.smk's database_inputs, which reads TRANSFER_OUTPUTS (defined in
# common.smk, filled by transfer.smk: the runs' metrics.parquet paths; entries may be input functions
# of a checkpoint) when the DAG is built, so this file works with and without the transfer stage.
DATABASE = f"{RESULTS}/gkt.duckdb"


rule database:
    input:
        database_inputs,
    output:
        db=DATABASE,
    params:
        results=lambda w, output: os.path.dirname(output.db),
        # The studies' results folders (common.smk), whose transfer runs join view transfer_datasets.
        extra=["--extra-results", *STUDY_RESULTS] if STUDY_RESULTS else [],
    localrule: True
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/db/database.log",
    threads: 1
    resources:
        **rule_resources(config, "database", mem_mb=1000, runtime=5),
    shell:
        "gkt --log {log} db --results {params.results} --out {output} {params.extra:q}"


TARGETS += [DATABASE]
