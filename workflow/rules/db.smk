# The results database: results/<dataset>/gkt.duckdb, documented views over every output.
# Shared names come from common.smk.
#
# The database holds only views (read_parquet / read_json over the files), so it is rebuilt in a
# second whenever an output it reads changes; views of stages that have not run yet are empty.
# Its inputs come from common.smk's database_inputs, an input function of the config's runs (the
# random ones once their checkpoint has run), so this file works with and without the transfer stage.
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
        views=sql_key("views/*.sql"),  # the views' SQL: an upgraded gkt rebuilds the database
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

