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


rule report:
    input:
        code=code_deps("report"),
        sources=["report/_quarto.yml", "report/en", "report/ko"],
        tables=expand("results/tables/{name}.csv", name=REPORT_TABLES),
        figures=expand("results/figures/{stage}", stage=FIGURE_STAGES),
        metrics="results/metrics.json",
    output:
        reports=expand("report/_output/{lang}/{doc}.{ext}", lang=["en", "ko"], doc=REPORT_DOCS, ext=["html", "pdf"]),
        run_info="results/run_info.json",
    params:
        values=stage_params("report"),
    log:
        "logs/report.log",
    benchmark:
        "logs/benchmarks/report.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/report.py --params params.yaml --project report --out-dir report/_output"
        " --data-summary results/tables/data_summary.csv --run-info {output.run_info} --log {log}"
