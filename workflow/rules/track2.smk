# Track 2 "whom should we target?": the stacked cohort, positivity and balance, ATE, CATE, CATE evaluation.


rule cohort:
    input:
        code=code_deps("cohort"),
        tables=interim_tables(COHORT_TABLES),
    output:
        cohort="results/tables/cohort.csv",
        flow="results/tables/cohort_flow.csv",
    params:
        values=stage_params("cohort"),
    resources:
        mem_mb=3000,
        runtime=10,
    log:
        "logs/cohort.log",
    benchmark:
        "logs/benchmarks/cohort.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/cohort.py --params params.yaml --interim-dir data/interim"
        " --out {output.cohort} --flow {output.flow} --log {log}"


rule positivity:
    input:
        code=code_deps("positivity"),
        cohort="results/tables/cohort.csv",
    output:
        tables=expand("results/tables/{name}.csv", name=POSITIVITY_TABLES),
        figures=directory("results/figures/positivity"),
        metrics="results/metrics/positivity.json",
    params:
        values=stage_params("positivity"),
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "logs/positivity.log",
    benchmark:
        "logs/benchmarks/positivity.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/positivity.py --params params.yaml --cohort {input.cohort} --tables-dir results/tables"
        " --figures-dir {output.figures} --metrics {output.metrics} --log {log}"


rule ate:
    input:
        code=code_deps("ate"),
        cohort="results/tables/cohort.csv",
        scores="results/tables/propensity_scores.csv",
    output:
        table="results/tables/ate.csv",
        figures=directory("results/figures/ate"),
        metrics="results/metrics/ate.json",
    params:
        values=stage_params("ate"),
    threads: config["compute"]["threads"]
    resources:
        mem_mb=2000,
        runtime=20,
    log:
        "logs/ate.log",
    benchmark:
        "logs/benchmarks/ate.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/ate.py --params params.yaml --cohort {input.cohort} --scores {input.scores}"
        " --out {output.table} --figures-dir {output.figures} --metrics {output.metrics} --log {log}"


rule cate_fit:
    input:
        code=code_deps("cate_fit"),
        cohort="results/tables/cohort.csv",
        scores="results/tables/propensity_scores.csv",
    output:
        "results/cate/{outcome}/{model}.csv",
    params:
        values=stage_params("cate_fit"),
    wildcard_constraints:
        outcome="[a-z_]+",
        model="[a-z_]+",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/cate_fit/{outcome}/{model}.log",
    benchmark:
        "logs/benchmarks/cate_fit_{outcome}_{model}.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/cate_fit.py --params params.yaml --cohort {input.cohort} --scores {input.scores}"
        " --model {wildcards.model} --outcome {wildcards.outcome} --out {output} --log {log}"


rule cate:
    input:
        code=code_deps("cate"),
        cohort="results/tables/cohort.csv",
        scores="results/tables/propensity_scores.csv",
        parts=cate_parts(),
    output:
        table="results/tables/cate_predictions.csv",
        summary="results/tables/cate_summary.csv",
        figures=directory("results/figures/cate"),
        metrics="results/metrics/cate.json",
    params:
        values=stage_params("cate"),
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/cate.log",
    benchmark:
        "logs/benchmarks/cate.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/cate.py --params params.yaml --cohort {input.cohort} --scores {input.scores}"
        " --parts-dir results/cate --out {output.table} --summary {output.summary} --figures-dir {output.figures}"
        " --metrics {output.metrics} --log {log}"


rule cate_eval:
    input:
        code=code_deps("cate_eval"),
        cohort="results/tables/cohort.csv",
        scores="results/tables/propensity_scores.csv",
        predictions="results/tables/cate_predictions.csv",
    output:
        selection="results/tables/cate_model_selection.csv",
        curves="results/tables/uplift_curves.csv",
        calibration="results/tables/cate_calibration.csv",
        table="results/tables/customer_cate.csv",
        dr_scores="results/tables/dr_scores.csv",
        figures=directory("results/figures/cate_eval"),
        metrics="results/metrics/cate_eval.json",
    params:
        values=stage_params("cate_eval"),
    threads: config["compute"]["threads"]
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/cate_eval.log",
    benchmark:
        "logs/benchmarks/cate_eval.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/cate_eval.py --params params.yaml --cohort {input.cohort} --scores {input.scores}"
        " --predictions {input.predictions} --out {output.table} --selection {output.selection}"
        " --curves {output.curves} --calibration {output.calibration} --dr-scores {output.dr_scores}"
        " --figures-dir {output.figures} --metrics {output.metrics} --log {log}"


rule refute:
    input:
        code=code_deps("refute"),
        cohort="results/tables/cohort.csv",
        scores="results/tables/propensity_scores.csv",
        ate="results/tables/ate.csv",
    output:
        table="results/tables/refutation.csv",
        sensitivity="results/tables/sensitivity.csv",
        metrics="results/metrics/refute.json",
    params:
        values=stage_params("refute"),
    threads: config["compute"]["threads"]
    resources:
        mem_mb=2000,
        runtime=20,
    log:
        "logs/refute.log",
    benchmark:
        "logs/benchmarks/refute.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/refute.py --params params.yaml --cohort {input.cohort} --scores {input.scores}"
        " --ate {input.ate} --out {output.table} --sensitivity {output.sensitivity} --metrics {output.metrics}"
        " --log {log}"


rule semisynthetic_rep:
    input:
        code=code_deps("semisynthetic_rep"),
        cohort="results/tables/cohort.csv",
        scores="results/tables/propensity_scores.csv",
    output:
        "results/semisynthetic/{shape}_{rep}.csv",
    params:
        values=stage_params("semisynthetic_rep"),
    threads: config["compute"]["threads"]
    resources:
        mem_mb=3000,
        runtime=15,
    log:
        "logs/semisynthetic/{shape}_{rep}.log",
    benchmark:
        "logs/benchmarks/semisynthetic_{shape}_{rep}.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/semisynthetic_rep.py --params params.yaml --cohort {input.cohort} --scores {input.scores}"
        " --shape {wildcards.shape} --rep {wildcards.rep} --out {output} --log {log}"


rule semisynthetic:
    input:
        code=code_deps("semisynthetic"),
        reps=semisynthetic_reps(),
    output:
        table="results/tables/semisynthetic.csv",
        summary="results/tables/semisynthetic_summary.csv",
        figures=directory("results/figures/semisynthetic"),
        metrics="results/metrics/semisynthetic.json",
    params:
        values=stage_params("semisynthetic"),
    resources:
        mem_mb=1000,
        runtime=10,
    log:
        "logs/semisynthetic.log",
    benchmark:
        "logs/benchmarks/semisynthetic.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/semisynthetic_gather.py --params params.yaml --reps-dir results/semisynthetic"
        " --out {output.table} --summary {output.summary} --figures-dir {output.figures}"
        " --metrics {output.metrics} --log {log}"


rule score_households:
    input:
        code=code_deps("score_households"),
        cohort="results/tables/cohort.csv",
        scores="results/tables/propensity_scores.csv",
        dr_scores="results/tables/dr_scores.csv",
        selection="results/tables/cate_model_selection.csv",
        model="results/models/segmentation.json",
        tables=interim_tables(COHORT_TABLES),
    output:
        households="results/tables/current_households.csv",
        scores="results/tables/household_scores.csv",
        metrics="results/metrics/score_households.json",
    params:
        values=stage_params("score_households"),
    threads: config["compute"]["threads"]
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/score_households.log",
    benchmark:
        "logs/benchmarks/score_households.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/score_households.py --params params.yaml --cohort {input.cohort} --scores {input.scores}"
        " --dr-scores {input.dr_scores} --selection {input.selection} --model {input.model} --interim-dir data/interim"
        " --households {output.households} --out {output.scores} --metrics {output.metrics} --log {log}"


rule policy:
    input:
        code=code_deps("policy"),
        cohort="results/tables/cohort.csv",
        dr_scores="results/tables/dr_scores.csv",
        cate="results/tables/customer_cate.csv",
        model="results/models/segmentation.json",
        households="results/tables/current_households.csv",
        household_scores="results/tables/household_scores.csv",
        tables=interim_tables(["transactions", "products", "coupons", "coupon_redemptions"]),
    output:
        comparison="results/tables/policy_comparison.csv",
        roi_curve="results/tables/roi_curve.csv",
        sensitivity="results/tables/cost_margin_sensitivity.csv",
        recommendations="results/tables/segment_recommendations.csv",
        ab_design="results/tables/ab_test_design.csv",
        assignments="results/tables/policy_assignments.csv",
        target_list="results/tables/target_list.csv",
        figures=directory("results/figures/policy"),
        metrics="results/metrics/policy.json",
    params:
        values=stage_params("policy"),
    threads: config["compute"]["threads"]
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/policy.log",
    benchmark:
        "logs/benchmarks/policy.tsv"
    conda:
        "../../environment.yml"
    shell:
        "python scripts/policy.py --params params.yaml --cohort {input.cohort} --dr-scores {input.dr_scores}"
        " --cate {input.cate} --model {input.model} --interim-dir data/interim --comparison {output.comparison}"
        " --roi-curve {output.roi_curve} --sensitivity {output.sensitivity} --recommendations {output.recommendations}"
        " --ab-design {output.ab_design} --assignments {output.assignments} --households {input.households}"
        " --household-scores {input.household_scores} --target-list {output.target_list} --figures-dir {output.figures}"
        " --metrics {output.metrics} --log {log}"
