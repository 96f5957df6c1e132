# Headline metrics (merged from the stages), the provenance record, and the bilingual reports:
# one job per document and language, each reading only the results it prints (report_inputs).


rule metrics:
    input:
        code=code_deps("metrics"),
        parts=METRIC_PARTS,
        params="params.yaml",
        data_summary="results/tables/data_summary.csv",
    output:
        metrics="results/metrics.json",
        run_info="results/run_info.json",
    resources:
        mem_mb=500,
        runtime=5,
    log:
        "logs/metrics.log",
    benchmark:
        "logs/benchmarks/metrics.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/metrics.py --inputs {input.parts} --out {output.metrics} --params params.yaml"
        " --data-summary {input.data_summary} --run-info {output.run_info} --log {log}"


rule report_track1:
    input:
        unpack(lambda wc: report_inputs("track1", wc.lang)),
    output:
        html="report/_output/{lang}/track1.html",
        pdf="report/_output/{lang}/track1.pdf",
    params:
        values=stage_params("report_track1"),
    resources:
        mem_mb=1500,
        runtime=10,
    log:
        "logs/report/{lang}_track1.log",
    benchmark:
        "logs/benchmarks/report_{lang}_track1.tsv"
    wildcard_constraints:
        lang="en|ko",
    conda:
        "../../environment.yml"
    shell:
        "python scripts/report.py --params params.yaml --project report --out-dir report/_output"
        " --documents {wildcards.lang}/track1 --log {log}"


rule report_track2:
    input:
        unpack(lambda wc: report_inputs("track2", wc.lang)),
    output:
        html="report/_output/{lang}/track2.html",
        pdf="report/_output/{lang}/track2.pdf",
    params:
        values=stage_params("report_track2"),
    resources:
        mem_mb=1500,
        runtime=10,
    log:
        "logs/report/{lang}_track2.log",
    benchmark:
        "logs/benchmarks/report_{lang}_track2.tsv"
    wildcard_constraints:
        lang="en|ko",
    conda:
        "../../environment.yml"
    shell:
        "python scripts/report.py --params params.yaml --project report --out-dir report/_output"
        " --documents {wildcards.lang}/track2 --log {log}"


rule report_summary:
    input:
        unpack(lambda wc: report_inputs("summary", wc.lang)),
    output:
        html="report/_output/{lang}/summary.html",
        pdf="report/_output/{lang}/summary.pdf",
    params:
        values=stage_params("report_summary"),
    resources:
        mem_mb=1500,
        runtime=10,
    log:
        "logs/report/{lang}_summary.log",
    benchmark:
        "logs/benchmarks/report_{lang}_summary.tsv"
    wildcard_constraints:
        lang="en|ko",
    conda:
        "../../environment.yml"
    shell:
        "python scripts/report.py --params params.yaml --project report --out-dir report/_output"
        " --documents {wildcards.lang}/summary --log {log}"
