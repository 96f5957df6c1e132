#!/usr/bin/env python
"""Stage `segment`: behaviour segments, value tiers, stability, profiles, the saved segment model and figures."""

import logging
import time
from pathlib import Path

from segtarget.core import cli, io, params
from segtarget.track1.figures import korean_font_name, save_track1_figures
from segtarget.track1.segmentation import SegmentationConfig, run_segmentation, track1_metrics

log = logging.getLogger("segtarget.segment")


def run(args):
    cfg = SegmentationConfig.from_params(params.load_section(args.params, "segmentation"))
    features = io.read_csv(args.features)
    korean_font_name()  # fail before writing anything if the Korean font is missing
    start = time.perf_counter()
    res = run_segmentation(features, cfg, origin=args.features)
    log.info("segmentation chain: %.1f s (stability %.1f s)", time.perf_counter() - start, res.resamples["seconds"])

    tables = Path(args.tables_dir)
    outputs = {
        "nmf_rank_selection": res.rank_selection.assign(selected=res.rank_selection["rank"] == res.rank),
        "factor_loadings": res.loadings,
        "factor_names": res.factor_names,
        "cluster_selection": res.cluster_selection.assign(selected=res.cluster_selection["k"] == res.k),
        "segment_stability": res.stability,
        "segments": res.segments,
        "segment_profiles": res.profiles,
        "segment_strategy": res.strategy,
        "segment_separation": res.separation,
        "segment_feature_differences": res.differences,
        "segment_value_tiers": res.value_tiers,
        "segment_recipe_comparison": res.recipes,
    }
    for name, df in outputs.items():
        io.write_csv(df, tables / f"{name}.csv")
    res.model.save(args.model)
    start = time.perf_counter()
    figs = save_track1_figures(res, args.figures_dir, features=features)
    log.info("wrote %d tables, the model and %d figures (%.1f s)", len(outputs), len(figs), time.perf_counter() - start)
    io.update_json(args.metrics, "track1", track1_metrics(res))


if __name__ == "__main__":
    ap = cli.parser(__doc__)
    ap.add_argument("--features", default="results/tables/customer_features.csv", help="customer feature table (CSV)")
    ap.add_argument("--tables-dir", default="results/tables", help="folder for the output tables")
    ap.add_argument("--figures-dir", default="results/figures", help="folder for the figures (PNG, EN and KO)")
    ap.add_argument("--model", default="results/models/segmentation.json", help="where the fitted segment model goes")
    ap.add_argument("--metrics", default="results/metrics.json", help="metrics JSON whose track1 block is replaced")
    cli.main(run, ap)
