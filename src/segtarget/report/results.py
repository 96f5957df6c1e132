"""The one place report documents read results from, and format numbers for each language.

Every number in a report is computed from ``results/`` by code (SPEC section 6): documents
create a :class:`Results` object, read tables, metrics and figure paths through it, and
format values with the ``fmt_*`` functions (or a :class:`Formatter` bound to the document's
language) so that English and Korean reports show the same numbers the same way.

Conventions (the same for ``en`` and ``ko`` unless stated):

- thousands separator ``,`` and decimal point ``.`` in both languages (Korean uses them too);
- shares are given as fractions and shown as percentages: ``fmt_pct(0.123) == "12.3%"``;
- money keeps the dollar sign in both languages (``$1,234``; negative ``-$1,234``): the
  data are US dollars, and writing ``1,234달러`` in one report but ``$1,234`` in the
  other would make the two reports harder to compare side by side;
- confidence intervals are ``[lo, hi]`` in both languages;
- dates: ``January 31, 2024`` / ``2024년 1월 31일``;
- missing values (None, NaN, NA, NaT) are ``n/a`` / ``해당 없음``; booleans ``yes/no`` /
  ``예/아니요``.

Examples
--------
>>> fmt_int(1234.0), fmt_num(3.14159, 2), fmt_pct(0.1234), fmt_money(-1234.4)
('1,234', '3.14', '12.3%', '-$1,234')
>>> fmt_ci(0.0123, 0.0456, kind="pct"), fmt_num(float("nan"), lang="ko")
('[1.2%, 4.6%]', '해당 없음')
>>> import pandas as pd
>>> print(md_table(pd.DataFrame({"k": [2, 10], "share": [0.5, 0.25]}), "en",
...                formats={"share": "pct"}, headers={"k": "Segments"}))
| Segments | share |
|---------:|------:|
|        2 | 50.0% |
|       10 | 25.0% |
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from segtarget.core.errors import InputError
from segtarget.core.metrics import deep_merge
from segtarget.report.escape import md_escape

LANGS = ("en", "ko")
NA_TEXT = {"en": "n/a", "ko": "해당 없음"}
BOOL_TEXT = {"en": ("yes", "no"), "ko": ("예", "아니요")}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
#: Environment variable naming the folder that holds ``results/`` (overrides discovery).
ROOT_ENV = "SEGTARGET_ROOT"


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


def is_na(x: Any) -> bool:
    """True for None, NaN, pandas NA and NaT (and nothing else, not even empty strings)."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, (float, np.floating)):
        return math.isnan(x)
    if isinstance(x, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(x))
    return False


def _missing(x: Any, lang: str) -> bool:
    _lang(lang)
    return is_na(x)


def _number(x: Any, what: str) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{what} expects a number, got {x!r}") from None


def _grouped(x: float, digits: int) -> str:
    text = f"{x:,.{digits}f}"
    # "-0.00" after rounding reads as a sign error in a report: show it as zero.
    if text.startswith("-") and float(text[1:].replace(",", "")) == 0:
        text = text[1:]
    return text


def fmt_int(x: Any, lang: str = "en") -> str:
    """A count: rounded to an integer, with thousands separators (``1,234``)."""
    if _missing(x, lang):
        return NA_TEXT[lang]
    return _grouped(_number(x, "fmt_int"), 0)


def fmt_num(x: Any, digits: int = 2, lang: str = "en") -> str:
    """A number with ``digits`` decimals and thousands separators (``1,234.57``)."""
    if _missing(x, lang):
        return NA_TEXT[lang]
    return _grouped(_number(x, "fmt_num"), digits)


def fmt_pct(x: Any, digits: int = 1, lang: str = "en") -> str:
    """A share (0.123) shown as a percentage (``12.3%``)."""
    if _missing(x, lang):
        return NA_TEXT[lang]
    return _grouped(100.0 * _number(x, "fmt_pct"), digits) + "%"


def fmt_money(x: Any, digits: int = 0, lang: str = "en") -> str:
    """Dollars with the sign first in both languages (``$1,234``, ``-$1,234``)."""
    if _missing(x, lang):
        return NA_TEXT[lang]
    text = _grouped(_number(x, "fmt_money"), digits)
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


def fmt_p(p: Any, digits: int = 3, lang: str = "en") -> str:
    """A p-value: ``0.042``, or ``<0.001`` below the smallest value ``digits`` can show."""
    if _missing(p, lang):
        return NA_TEXT[lang]
    p = _number(p, "fmt_p")
    floor = 10.0 ** -digits
    return f"<{floor:.{digits}f}" if p < floor else f"{p:.{digits}f}"


def fmt_date(x: Any, lang: str = "en") -> str:
    """A calendar date: ``January 31, 2024`` / ``2024년 1월 31일`` (ISO strings accepted)."""
    if _missing(x, lang):
        return NA_TEXT[lang]
    ts = pd.Timestamp(x)
    if lang == "ko":
        return f"{ts.year}년 {ts.month}월 {ts.day}일"
    return f"{_MONTHS[ts.month - 1]} {ts.day}, {ts.year}"


def fmt_bool(x: Any, lang: str = "en") -> str:
    """``yes``/``no`` or ``예``/``아니요``."""
    if _missing(x, lang):
        return NA_TEXT[lang]
    return BOOL_TEXT[lang][0 if bool(x) else 1]


_KINDS: dict[str, tuple[Callable[..., str], int | None]] = {
    "int": (fmt_int, None),
    "num": (fmt_num, 2),
    "pct": (fmt_pct, 1),
    "money": (fmt_money, 0),
    "p": (fmt_p, 3),
    "date": (fmt_date, None),
    "bool": (fmt_bool, None),
}
_NUMERIC_KINDS = {"int", "num", "pct", "money", "p"}


def _parse_kind(kind: str) -> tuple[str, int | None]:
    name, _, digits = str(kind).partition(":")
    if name not in _KINDS and name != "text":
        raise ValueError(f"unknown format {kind!r}; expected one of "
                         f"{', '.join([*_KINDS, 'text'])} (optionally ':digits', e.g. 'num:3')")
    if digits and _KINDS.get(name, (None, None))[1] is None:
        raise ValueError(f"format {name!r} takes no digits, got {kind!r}")
    return name, int(digits) if digits else _KINDS.get(name, (None, None))[1]


def fmt_value(x: Any, kind: str = "num", lang: str = "en") -> str:
    """Format ``x`` by a kind name: int, num, pct, money, p, date, bool or text, with an
    optional ``:digits`` suffix (``"num:3"``, ``"pct:0"``, ``"money:2"``)."""
    name, digits = _parse_kind(kind)
    if name == "text":
        return NA_TEXT[_lang(lang)] if is_na(x) else str(x)
    fn = _KINDS[name][0]
    return fn(x, digits, lang=lang) if digits is not None else fn(x, lang=lang)


def fmt_ci(lo: Any, hi: Any, kind: str = "num", lang: str = "en", digits: int | None = None) -> str:
    """A confidence interval ``[lo, hi]``, both ends formatted by ``kind`` (see
    :func:`fmt_value`); ``digits`` overrides the kind's default. Missing if either end is."""
    if _missing(lo, lang) or is_na(hi):
        return NA_TEXT[lang]
    if digits is not None:
        kind = f"{_parse_kind(kind)[0]}:{digits}"
    return f"[{fmt_value(lo, kind, lang)}, {fmt_value(hi, kind, lang)}]"


def _default_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "num"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "text"


def _cell(text: str) -> str:
    # collapse ASCII whitespace only: a no-break space (a marker glued to its label) must survive
    return " ".join(re.split(r"[ \t\n\r\f\v]+", str(text).strip(" \t\n\r\f\v"))).replace("|", "\\|")


def _text_cell(value: Any, lang: str) -> str:
    """A text cell: data (names, descriptions), so escaped (:func:`md_escape`), not markup."""
    return NA_TEXT[lang] if is_na(value) else md_escape(value)


def md_table(
    df: pd.DataFrame,
    lang: str = "en",
    formats: Mapping[str, str | Callable[[Any], str]] | None = None,
    headers: Mapping[str, str] | None = None,
    caption: str | None = None,
    label: str | None = None,
) -> str:
    """A pandoc/Quarto pipe table of ``df`` (all its columns, in order, no index).

    Parameters
    ----------
    df : the rows to show; select and sort them before calling.
    lang : ``en`` or ``ko``: language of the missing-value and yes/no texts.
    formats : column -> kind name for :func:`fmt_value` (``"pct"``, ``"num:3"``...) or a
        callable taking the value and returning its text. Unlisted columns: integers
        ``int``, floats ``num`` (2 decimals), booleans ``bool``, datetimes ``date``,
        anything else as text.
    headers : column -> header text (the caller translates); unlisted columns keep their name.
        Headers and text cells are data, shown literally (:func:`~segtarget.report.escape.md_escape`:
        a segment named ``<script>`` or ``#set page(...)`` stays text in HTML and PDF); a
        callable format returns Markdown and escapes what it takes from data itself.
    caption, label : an optional caption line (``: caption {#tbl-label}``) that both Quarto
        and the fallback renderer number as "Table N" / "표 N" and that ``@tbl-label``
        cross-references. ``label`` must start with ``tbl-``.

    Numeric columns are right-aligned, others left-aligned. Print the result from a chunk
    with ``#| output: asis``.
    """
    _lang(lang)
    formats = dict(formats or {})
    headers = dict(headers or {})
    if not df.columns.size:
        raise ValueError("md_table: the table has no columns")
    unknown = [c for c in [*formats, *headers] if c not in df.columns]
    if unknown:
        raise KeyError(f"md_table: no column {unknown[0]!r}; columns are {', '.join(map(str, df.columns))}")
    if label is not None and not str(label).startswith("tbl-"):
        raise ValueError(f"md_table: label must start with 'tbl-', got {label!r}")
    cols, rows, right = [], [], []
    for col in df.columns:
        spec = formats.get(col, _default_kind(df[col]))
        if callable(spec):
            texts = [_cell(spec(v)) for v in df[col].tolist()]
            numeric = pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
        elif _parse_kind(spec)[0] == "text":
            texts = [_text_cell(v, lang) for v in df[col].tolist()]
            numeric = False
        else:
            texts = [_cell(fmt_value(v, spec, lang)) for v in df[col].tolist()]
            numeric = _parse_kind(spec)[0] in _NUMERIC_KINDS
        cols.append(md_escape(headers.get(col, col)))
        rows.append(texts)
        right.append(numeric)
    widths = [max([len(h), 3, *(len(t) for t in texts)]) for h, texts in zip(cols, rows)]

    def line(cells):
        return "| " + " | ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if r else (":" + "-" * (w + 1))
                          for w, r in zip(widths, right)) + "|"
    text = "\n".join([line(cols), rule] + [line(cells) for cells in zip(*rows)])
    if caption or label:
        text += "\n\n: " + (caption or "") + (f" {{#{label}}}" if label else "")
    return text


class Formatter:
    """The ``fmt_*`` functions bound to one language, for use inside a document.

    Examples
    --------
    >>> f = Formatter("ko")
    >>> f.int(1234), f.pct(0.5), f.money(12.5), f.num(None)
    ('1,234', '50.0%', '$12', '해당 없음')
    """

    def __init__(self, lang: str = "en"):
        self.lang = _lang(lang)

    @property
    def na(self) -> str:
        return NA_TEXT[self.lang]

    def int(self, x) -> str:
        return fmt_int(x, self.lang)

    def num(self, x, digits: int = 2) -> str:
        return fmt_num(x, digits, self.lang)

    def pct(self, x, digits: int = 1) -> str:
        return fmt_pct(x, digits, self.lang)

    def money(self, x, digits: int = 0) -> str:
        return fmt_money(x, digits, self.lang)

    def p(self, x, digits: int = 3) -> str:
        return fmt_p(x, digits, self.lang)

    def date(self, x) -> str:
        return fmt_date(x, self.lang)

    def bool(self, x) -> str:
        return fmt_bool(x, self.lang)

    def ci(self, lo, hi, kind: str = "num", digits: int | None = None) -> str:
        return fmt_ci(lo, hi, kind, self.lang, digits)

    def value(self, x, kind: str = "num") -> str:
        return fmt_value(x, kind, self.lang)

    def table(self, df: pd.DataFrame, formats=None, headers=None, caption=None, label=None) -> str:
        return md_table(df, self.lang, formats, headers, caption, label)


class Results:
    """Read-only access to a workflow's ``results/`` folder.

    Parameters
    ----------
    root : the folder that contains ``results/`` (the project root), not ``results/`` itself.

    Tables are read fresh from disk on every call (a report is rendered once; caching would
    only risk showing stale numbers). A missing file raises :class:`InputError` naming it.
    """

    def __init__(self, root: str | os.PathLike = "."):
        self.root = Path(root)

    @classmethod
    def discover(cls, start: str | os.PathLike | None = None) -> "Results":
        """Find the project root: ``$SEGTARGET_ROOT`` if set, else the nearest folder at or
        above ``start`` (default: the working directory) holding a ``results/`` folder.

        Documents call this so they work whatever folder the renderer executes them in
        (the fallback runs them from the project root, Quarto from ``--execute-dir``).
        """
        env = os.environ.get(ROOT_ENV)
        if env:
            return cls(env)
        here = Path(start or os.getcwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "results").is_dir():
                return cls(folder)
        raise InputError(f"no results/ folder at or above {here}; run the workflow first "
                         f"or set {ROOT_ENV}")

    @property
    def tables_dir(self) -> Path:
        return self.root / "results" / "tables"

    @property
    def figures_dir(self) -> Path:
        return self.root / "results" / "figures"

    @property
    def metrics_path(self) -> Path:
        return self.root / "results" / "metrics.json"

    def table(self, name: str) -> pd.DataFrame:
        """``results/tables/<name>.csv`` as a DataFrame."""
        path = self.tables_dir / f"{name}.csv"
        if not path.is_file():
            raise InputError(f"{path}: results table not found (has its stage run?)")
        try:
            return pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise InputError(f"{path}: results table is empty, expected a header row") from None

    def metrics(self) -> dict:
        """The stages' metrics as one dict: the per-stage files ``results/metrics/<stage>.json`` merged
        (the same merge as the ``metrics`` stage's ``results/metrics.json``), or that file when there
        are no per-stage files. Reading the parts lets each report document depend on the stages it
        prints, not on every stage through the merged file."""
        parts = sorted((self.root / "results" / "metrics").glob("*.json"))
        if parts:
            merged: dict = {}
            for part in parts:
                try:
                    deep_merge(merged, json.loads(part.read_text()), str(part))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{part}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
            return merged
        path = self.metrics_path
        if not path.is_file():
            raise InputError(f"{path}: metrics file not found (has the workflow run?)")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None

    def metric(self, key: str) -> Any:
        """One value of metrics.json by dotted key, e.g. ``metric("track1.n_segments")``."""
        value: Any = self.metrics()
        for i, part in enumerate(key.split(".")):
            if not isinstance(value, dict) or part not in value:
                found = ".".join(key.split(".")[:i]) or "(top level)"
                raise InputError(f"{self.metrics_path}: no key {key!r} (missing {part!r} under {found})")
            value = value[part]
        return value

    def figure(self, name: str, lang: str = "en") -> Path:
        """Absolute path of ``results/figures/<name>.png``; for ``ko``, ``<name>_ko.png``
        when that exists (figures with Korean labels), else the language-neutral one."""
        _lang(lang)
        candidates = ([self.figures_dir / f"{name}_ko.png"] if lang == "ko" else []) + [
            self.figures_dir / f"{name}.png"]
        for path in candidates:
            if path.is_file():
                return path.resolve()
        raise InputError(f"{candidates[-1]}: figure not found (has its stage run?)")

    def show_figure(self, name: str, lang: str = "en"):
        """Display a results figure as a cell output (use in a chunk with ``#| label: fig-...``
        and ``#| fig-cap: ...``): Quarto and the fallback both turn it into a captioned figure."""
        from IPython.display import Image, display

        display(Image(filename=str(self.figure(name, lang))))

