"""Bilingual reports: load results, format numbers per language, render the Quarto project.

:mod:`segtarget.report.results` is what the report documents import (it is light: pandas
only). :mod:`segtarget.report.render` renders the project with Quarto when it is installed
and with an equivalent Jupyter + pandoc + Typst pipeline otherwise; import it explicitly.
"""

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
    "md_table",
]
