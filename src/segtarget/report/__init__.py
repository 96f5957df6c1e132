"""Bilingual reports: load results, format numbers per language, render the Quarto project.

:mod:`segtarget.report.results` is what the report documents import (it is light: pandas
only). What the documents say, in English and Korean, is built by

- :mod:`~segtarget.report.labels`: display words, Korean particles, reading thresholds;
- :mod:`~segtarget.report.tables`: pipe tables fitted to the PDF page, the Typst setup;
- :mod:`~segtarget.report.escape`: :func:`md_escape`, through which every string from data
  (segment names, departments, descriptions) enters the Markdown, so that it renders as text;
- :mod:`~segtarget.report.facts`: inputs (``params.yaml``, tables, figures), the data
  facts, the feature dictionary and appendix tables, the original project's numbers;
- :mod:`~segtarget.report.track1` and :mod:`~segtarget.report.track1_prose`: Track 1
  facts and tables, then its sentences and caveats; :mod:`~segtarget.report.track1_axes`
  (behaviour inputs, value tiers, why this k) and :mod:`~segtarget.report.track1_compare`
  (the original recipe side by side, the bar the segmentation must clear);
- :mod:`~segtarget.report.track2`, :mod:`~segtarget.report.track2_prose` and
  :mod:`~segtarget.report.track2_stages`: Track 2 facts and tables, its sentences and
  caveats, and the sections of the stages after the ATE: :mod:`~segtarget.report.track2_cate`
  (CATE), :mod:`~segtarget.report.track2_checks` (refutations, sensitivity),
  :mod:`~segtarget.report.track2_validation` (semi-synthetic benchmark),
  :mod:`~segtarget.report.track2_policy` (policies, segments, the original's claims, A/B
  test) on the decision facts of :mod:`~segtarget.report.track2_decision`;
- :mod:`~segtarget.report.summary`: the blocks of the one-page executive summary.

:mod:`segtarget.report.render` renders the project with Quarto when it is installed and
with an equivalent Jupyter + pandoc + Typst pipeline otherwise (:mod:`~segtarget.report.qmd`,
:mod:`~segtarget.report.kernel`, :mod:`~segtarget.report.pandoc`); import it explicitly.
The report package imports only :mod:`segtarget.core` and itself, never the tracks.
"""

from segtarget.report.escape import md_escape
from segtarget.report.results import (
    Formatter,
    Results,
    fmt_ci,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_p,
    fmt_pct,
    md_table,
)

__all__ = [
    "Formatter",
    "Results",
    "fmt_ci",
    "fmt_date",
    "fmt_int",
    "fmt_money",
    "fmt_num",
    "fmt_p",
    "fmt_pct",
    "md_escape",
    "md_table",
]
