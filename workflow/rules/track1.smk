# Track 1 "who are our customers?": features, then NMF factors, K-means segments, stability and profiles.


rule features:
    input:
        code=code_deps("features"),
        tables=interim_tables(["transactions", "products"]),
    output:
        features="results/tables/customer_features.csv",
        dictionary="results/tables/feature_dictionary.csv",
    params:
        values=stage_params("features"),
    threads: config["compute"]["threads"]
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/features.log",
    benchmark:
        "logs/benchmarks/features.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/features.py --params params.yaml --interim-dir data/interim"
        " --out {output.features} --dictionary {output.dictionary} --log {log}"


rule segment:
    input:
        code=code_deps("segment"),
        features="results/tables/customer_features.csv",
    output:
        tables=expand("results/tables/{name}.csv", name=SEGMENT_TABLES),
        model="results/models/segmentation.json",
        figures=directory("results/figures/segment"),
        metrics="results/metrics/segment.json",
    params:
        values=stage_params("segment"),
    resources:
        mem_mb=1000,
        runtime=15,
    log:
        "logs/segment.log",
    benchmark:
        "logs/benchmarks/segment.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/segment.py --params params.yaml --features {input.features}"
        " --tables-dir results/tables --model {output.model} --figures-dir {output.figures}"
        " --metrics {output.metrics} --log {log}"
