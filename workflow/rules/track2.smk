# Track 2 "whom should we target?": the stacked cohort, positivity and balance, ATE.


rule cohort:
    input:
        code=code_deps("cohort"),
        tables=interim_tables(COHORT_TABLES),
    output:
        cohort="results/tables/cohort.csv",
        flow="results/tables/cohort_flow.csv",
    params:
        values=stage_params("cohort"),
    log:
        "logs/cohort.log",
    benchmark:
        "logs/benchmarks/cohort.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/cohort.py --params params.yaml --interim-dir data/interim"
        " --out {output.cohort} --flow {output.flow} --log {log}"
