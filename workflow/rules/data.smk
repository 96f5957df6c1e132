# Data: the synthetic generator (writes only a manifest unless data.source is synthetic)
# and ingest (any source -> canonical parquet tables + data summary).


rule synthetic:
    input:
        code=code_deps("synthetic"),
    output:
        directory("data/raw/synthetic"),
    params:
        values=stage_params("synthetic"),
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "logs/synthetic.log",
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/synthetic.tsv"
    shell:
        "python scripts/synthetic.py --params params.yaml --out-dir {output} --log {log}"


rule ingest:
    input:
        code=code_deps("ingest"),
        synthetic="data/raw/synthetic",
    output:
        tables=interim_tables(),
        summary="results/tables/data_summary.csv",
    params:
        values=stage_params("ingest"),
    threads: config["compute"]["threads"]
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/ingest.log",
    conda:
        "../../environment.yml"
    benchmark:
        "logs/benchmarks/ingest.tsv"
    shell:
        "python scripts/ingest.py --params params.yaml --synthetic-dir {input.synthetic}"
        " --out-dir data/interim --summary {output.summary} --log {log}"
