# Headline metrics (merged from the stages) and the bilingual reports.


rule metrics:
    input:
        code=code_deps("metrics"),
        parts=METRIC_PARTS,
    output:
        "results/metrics.json",
    log:
        "logs/metrics.log",
    benchmark:
        "logs/benchmarks/metrics.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/metrics.py --inputs {input.parts} --out {output} --log {log}"
