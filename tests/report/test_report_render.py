"""Report rendering (fallback engine: Jupyter + pandoc + Typst) and results formatting.

The fixture project (tests/report/fixtures/report_project) is copied to a temporary folder next
to a small results/ folder written here; every expected number is formatted from those
inputs with the same helpers the documents use.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import stat
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pypdf

from conftest import run_script, write_params
from segtarget.core.errors import InputError
from segtarget.report import results as R
from segtarget.report.render import RenderError, find_documents, render_project

FIXTURE = Path(__file__).parent / "fixtures" / "report_project"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.I)


def write_results(root: Path, households: int = 1234, revenue: float = 12345.5) -> dict:
    """A results/ folder with one table, metrics and an EN and a KO figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seg = pd.DataFrame({"segment": [1, 2], "segment_name": ["Loyal", "Lapsed"],
                        "n": [700, 534], "share": [700 / 1234, 534 / 1234],
                        "revenue": [revenue, 2345.25]})
    (root / "results" / "tables").mkdir(parents=True, exist_ok=True)
    (root / "results" / "figures").mkdir(parents=True, exist_ok=True)
    seg.to_csv(root / "results" / "tables" / "demo_segments.csv", index=False)
    (root / "results" / "metrics.json").write_text(json.dumps({"demo": {"households": households}}))
    for suffix in ("", "_ko"):
        fig, ax = plt.subplots(figsize=(4, 2.5))
        ax.bar(seg["segment_name"], seg["n"])
        fig.savefig(root / "results" / "figures" / f"demo{suffix}.png", dpi=60)
        plt.close(fig)
    return {"seg": seg, "households": households}


def make_project(root: Path, **kwargs) -> dict:
    shutil.copytree(FIXTURE, root / "report")
    return write_results(root, **kwargs)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Render the EN and KO fixture documents to HTML and PDF once for several tests."""
    root = tmp_path_factory.mktemp("report")
    data = make_project(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        mp.delenv(R.ROOT_ENV, raising=False)
        out = render_project(root / "report", root / "report" / "_output", engine="fallback")
    for r in out:  # shown with `pytest -s`: the render time per document
        print(f"rendered {r.document} ({r.engine}) in {r.seconds:.1f} s")
    return {"root": root, "out": root / "report" / "_output", "results": out, **data}


def text_of(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)


def font_names(pdf: Path) -> set[str]:
    names = set()
    for page in pypdf.PdfReader(pdf).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            names.add(str(ref.get_object().get("/BaseFont", "")))
    return names


# --------------------------------------------------------------------------- rendering


def test_outputs_where_quarto_puts_them(rendered):
    out = rendered["out"]
    assert [r.document for r in rendered["results"]] == ["en/demo", "ko/demo"]
    assert [p.relative_to(out).as_posix() for p in files_under(out)] == [
        "en/demo.html", "en/demo.pdf", "ko/demo.html", "ko/demo.pdf"]
    mode = stat.S_IMODE((out / "en" / "demo.html").stat().st_mode)
    assert mode & stat.S_IRUSR and mode & stat.S_IWUSR
    assert all(r.engine == "fallback" and r.seconds > 0 for r in rendered["results"])


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_html_is_self_contained(rendered, lang):
    html = (rendered["out"] / lang / "demo.html").read_text(encoding="utf-8")
    refs = ATTR.findall(html)
    assert refs, "expected links (table of contents) and an image"
    external = [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]
    assert external == []
    assert any(r.startswith("data:image/png;base64,") for r in refs)
    assert "<math" in html and "mathjax" not in html.lower()
    assert f'lang="{lang}"' in html


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_numbers_figures_and_crossrefs_in_html(rendered, lang):
    html = (rendered["out"] / lang / "demo.html").read_text(encoding="utf-8")
    f, seg = R.Formatter(lang), rendered["seg"]
    top = seg.sort_values("revenue", ascending=False).iloc[0]
    for text in (f.int(rendered["households"]), f.money(top["revenue"]), f.pct(top["share"]),
                 f.pct(seg["share"].iloc[1]), f.int(seg["n"].sum())):
        assert text in html
    words = {"en": ("Figure", "Table"), "ko": ("그림", "표")}[lang]
    assert f'<a href="#fig-demo">{words[0]} 1</a>' in html
    assert f'<a href="#tbl-segments">{words[1]} 1</a>' in html
    assert re.search(rf"<figcaption[^>]*>{words[0]} 1: ", html)
    assert re.search(rf"<caption>{words[1]} 1: ", html)
    # echo: false from _quarto.yml hides the setup code; the appendix chunk echoes its code
    assert "Results.discover()" not in html and "print</span>(total)" in html
    assert "{python}" not in html and "@fig-" not in html


def test_pdfs_have_pages_and_the_korean_one_embeds_a_korean_font(rendered):
    en, ko = rendered["out"] / "en" / "demo.pdf", rendered["out"] / "ko" / "demo.pdf"
    for pdf in (en, ko):
        assert len(pypdf.PdfReader(pdf).pages) >= 1
    assert any("NanumGothic" in name for name in font_names(ko))
    ko_text = text_of(ko)
    assert len(HANGUL.findall(ko_text)) > 20
    assert R.fmt_int(rendered["households"], "ko") in ko_text
    en_text = text_of(en)
    assert R.fmt_int(rendered["households"]) in en_text and "Table 1: " in en_text
    # no SOURCE_DATE_EPOCH: no date in the document or the PDF metadata
    assert "/CreationDate" not in pypdf.PdfReader(en).metadata


def test_rerender_is_byte_identical(rendered, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.delenv(R.ROOT_ENV, raising=False)
    again = tmp_path / "again"
    render_project(rendered["root"] / "report", again, ["ko/demo"], engine="fallback")
    for fmt in ("html", "pdf"):
        assert (again / "ko" / f"demo.{fmt}").read_bytes() == \
            (rendered["out"] / "ko" / f"demo.{fmt}").read_bytes()


def test_numbers_flow_from_results_and_dates_follow_source_date_epoch(rendered, tmp_path, monkeypatch):
    monkeypatch.delenv(R.ROOT_ENV, raising=False)
    epoch = 1_700_000_000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    before = (rendered["out"] / "en" / "demo.html").read_text(encoding="utf-8")
    old_money, old_n = R.fmt_money(rendered["seg"]["revenue"].max()), R.fmt_int(rendered["households"])
    assert old_money in before and old_n in before
    # the same project with new results: the new numbers, and only them, are shown
    shutil.copytree(rendered["root"] / "report", tmp_path / "report", ignore=shutil.ignore_patterns("_output"))
    data = write_results(tmp_path, households=98765, revenue=54321.0)
    render_project(tmp_path / "report", tmp_path / "out", ["en/demo"], formats=["html"], engine="fallback")
    html = (tmp_path / "out" / "en" / "demo.html").read_text(encoding="utf-8")
    assert R.fmt_money(data["seg"]["revenue"].max()) in html and R.fmt_int(data["households"]) in html
    assert old_money not in html and old_n not in html
    assert dt.datetime.fromtimestamp(epoch, dt.timezone.utc).date().isoformat() in html
    assert '<p class="date">' not in before  # `date: today` without SOURCE_DATE_EPOCH: no date


PLAIN = """---
title: Plain
---

Two and two make `{python} 2 + 2`.
"""

BROKEN = """---
title: Broken
---

Some prose.

```{python}
#| label: fine
y = 2
```

```{python}
#| label: boom
z = y + 1
x = 1 / (y - 2)
```
"""


def test_failing_chunk_names_it_in_one_line_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(R.ROOT_ENV, raising=False)
    make_project(tmp_path)
    (tmp_path / "report" / "en" / "plain.qmd").write_text(PLAIN)
    (tmp_path / "report" / "en" / "x_broken.qmd").write_text(BROKEN)
    out = tmp_path / "out"
    old = out / "en" / "plain.html"
    old.parent.mkdir(parents=True)
    old.write_text("previous render")
    # en/plain renders first and succeeds; en/x_broken then fails: nothing may be written
    with pytest.raises(RenderError) as err:
        render_project(tmp_path / "report", out, ["en/plain", "en/x_broken"], formats=["html"],
                       engine="fallback")
    msg = str(err.value)
    assert "\n" not in msg
    for part in ("en/x_broken.qmd", "chunk 'boom' (`z = y + 1`) at line 2 (`x = 1 / (y - 2)`)",
                 "ZeroDivisionError"):
        assert part in msg
    assert files_under(out) == [old] and old.read_text() == "previous render"


def test_find_documents(tmp_path):
    make_project(tmp_path)
    (tmp_path / "report" / "_draft.qmd").write_text("# draft\n")
    (tmp_path / "report" / "_output").mkdir()
    (tmp_path / "report" / "_output" / "copy.qmd").write_text("# copy\n")
    assert find_documents(tmp_path / "report") == ["en/demo", "ko/demo"]
    assert find_documents(tmp_path / "report", ["ko/demo.qmd"]) == ["ko/demo"]
    with pytest.raises(RenderError, match="en/nope.qmd: document not found"):
        find_documents(tmp_path / "report", ["en/nope"])


FAKE_QUARTO = """#!{python}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
out = Path(args[args.index("--output-dir") + 1])
doc = Path(args[1])
if doc.stem == "fail":
    print("ERROR: something broke", file=sys.stderr)
    sys.exit(1)
rel = doc.relative_to(Path.cwd()).with_suffix("")
for ext in ("html", "pdf"):
    (out / rel.parent).mkdir(parents=True, exist_ok=True)
    (out / rel.parent / f"{{rel.name}}.{{ext}}").write_text(f"quarto {{ext}}")
log = Path(os.environ["FAKE_QUARTO_LOG"])
log.write_text(log.read_text() + json.dumps({{"argv": args, "python": os.environ["QUARTO_PYTHON"],
                                            "fonts": os.environ.get("TYPST_FONT_PATHS", "")}}) + "\\n")
"""


def test_quarto_is_used_when_on_path(tmp_path, monkeypatch):
    """The Quarto branch (not installable here) with a stand-in `quarto` executable."""
    make_project(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    quarto = bin_dir / "quarto"
    quarto.write_text(FAKE_QUARTO.format(python=sys.executable))
    quarto.chmod(0o755)
    log = tmp_path / "quarto.log"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_QUARTO_LOG", str(log))
    out = tmp_path / "out"
    res = render_project(tmp_path / "report", out)
    assert [r.engine for r in res] == ["quarto", "quarto"]
    assert (out / "ko" / "demo.pdf").read_text() == "quarto pdf"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [Path(c["argv"][1]).relative_to(tmp_path).as_posix() for c in calls] == [
        "report/en/demo.qmd", "report/ko/demo.qmd"]
    assert all(c["argv"][c["argv"].index("--execute-dir") + 1] == str(tmp_path) for c in calls)
    assert all(c["python"] == sys.executable and "koreanize_matplotlib" in c["fonts"] for c in calls)

    (tmp_path / "report" / "en" / "fail.qmd").write_text("# x\n")
    with pytest.raises(RenderError, match=r"en/fail.qmd: quarto render failed \(exit 1\): ERROR: something broke"):
        render_project(tmp_path / "report", tmp_path / "out2", ["en/demo", "en/fail"])
    assert not (tmp_path / "out2").exists() or files_under(tmp_path / "out2") == []


def test_script_renders_and_reports_errors_in_one_line(tmp_path):
    make_project(tmp_path)
    write_params(tmp_path / "params.yaml")  # the stage records provenance before rendering
    (tmp_path / "results" / "tables").mkdir(parents=True, exist_ok=True)
    (tmp_path / "results" / "tables" / "data_summary.csv").write_text(
        "table,rows,households,first_day,last_day,source,notes\ntransactions,10,2,1,9,synthetic,\n")
    (tmp_path / "report" / "en" / "plain.qmd").write_text(PLAIN)
    proc = run_script("report.py", "--project", "report", "--out-dir", "out", "--documents",
                      "en/plain", "--formats", "html", "--engine", "fallback", "--log", "logs/r.log",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    assert [p.relative_to(out).as_posix() for p in files_under(out)] == ["en/plain.html"]
    assert "Two and two make 4." in (out / "en" / "plain.html").read_text()
    assert re.search(r"rendered en/plain \(html\) in [0-9.]+ s", (tmp_path / "logs" / "r.log").read_text())
    proc = run_script("report.py", "--project", "report", "--out-dir", "out", "--documents", "fr/demo",
                      cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and "fr/demo.qmd" in proc.stderr


# --------------------------------------------------------------------------- results helpers


def test_formatters_in_both_languages():
    values = [1234.4, -0.004, 1e6]
    for lang in ("en", "ko"):
        assert [R.fmt_int(v, lang) for v in values] == ["1,234", "0", "1,000,000"]
        assert R.fmt_num(np.float64(2 / 3), 3, lang) == "0.667"
        assert R.fmt_num(-0.004, 2, lang) == "0.00"  # no "-0.00"
        assert R.fmt_pct(0.1234, lang=lang) == "12.3%"
        assert R.fmt_pct(1 / 3, 0, lang) == "33%"
        assert R.fmt_money(-1234.4, lang=lang) == "-$1,234"
        assert R.fmt_money(12.5, 2, lang) == "$12.50"
        assert R.fmt_ci(0.0123, 0.0456, "pct", lang) == "[1.2%, 4.6%]"
        assert R.fmt_ci(1, 2.5, lang=lang, digits=1) == "[1.0, 2.5]"
        assert R.fmt_p(0.0004, lang=lang) == "<0.001" and R.fmt_p(0.04213, lang=lang) == "0.042"
    na = {"en": "n/a", "ko": "해당 없음"}
    for lang, text in na.items():
        for missing in (None, float("nan"), np.nan, pd.NA, pd.NaT):
            assert R.fmt_num(missing, lang=lang) == text
            assert R.fmt_date(missing, lang) == text
        assert R.fmt_ci(None, 1.0, lang=lang) == text
    assert R.fmt_date("2024-01-31") == "January 31, 2024"
    assert R.fmt_date(pd.Timestamp("2024-01-31"), "ko") == "2024년 1월 31일"
    assert (R.fmt_bool(True), R.fmt_bool(False, "ko")) == ("yes", "아니요")
    with pytest.raises(ValueError, match="lang"):
        R.fmt_int(1, "fr")
    with pytest.raises(ValueError, match="unknown format"):
        R.fmt_value(1, "percent")


def test_md_table():
    df = pd.DataFrame({"name": ["a|b", None], "n": [1234, 5], "share": [0.5, np.nan],
                       "flag": [True, False]})
    text = R.md_table(df, "ko", formats={"share": "pct:0"}, headers={"name": "이름"},
                      caption="캡션", label="tbl-x")
    lines = text.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["이름", "n", "share", "flag"]
    assert re.fullmatch(r"\|:-+\|-+:\|-+:\|:-+\|", lines[1])  # text left, numbers right
    assert "a\\|b" in lines[2] and "1,234" in lines[2] and "50%" in lines[2] and "예" in lines[2]
    assert "해당 없음" in lines[3] and "아니요" in lines[3]
    assert lines[-1] == ": 캡션 {#tbl-x}"
    assert len({len(line) for line in lines[:4]}) == 1  # aligned columns
    assert R.md_table(df[["n"]], formats={"n": lambda v: f"<{v}>"}).splitlines()[2].strip("| ") == "<1234>"
    with pytest.raises(KeyError, match="nope"):
        R.md_table(df, formats={"nope": "int"})
    with pytest.raises(ValueError, match="tbl-"):
        R.md_table(df, label="fig-x")


def test_results_object(tmp_path, monkeypatch):
    monkeypatch.delenv(R.ROOT_ENV, raising=False)
    data = write_results(tmp_path)
    (tmp_path / "results" / "figures" / "demo_ko.png").rename(tmp_path / "results" / "figures" / "only_ko.png")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    res = R.Results.discover(tmp_path / "deep" / "er")
    assert res.root == tmp_path.resolve()
    pd.testing.assert_frame_equal(res.table("demo_segments"), data["seg"])
    assert res.metric("demo.households") == data["households"]
    assert res.figure("demo", "ko") == (tmp_path / "results" / "figures" / "demo.png").resolve()
    (tmp_path / "results" / "figures" / "demo_ko.png").write_bytes(b"x")
    assert res.figure("demo", "ko").name == "demo_ko.png" and res.figure("demo", "en").name == "demo.png"
    with pytest.raises(InputError, match=r"nope\.csv: results table not found"):
        res.table("nope")
    with pytest.raises(InputError, match="no key 'demo.size'"):
        res.metric("demo.size")
    with pytest.raises(InputError, match=r"nope\.png: figure not found"):
        res.figure("nope", "ko")
    monkeypatch.setenv(R.ROOT_ENV, str(tmp_path / "elsewhere"))
    assert R.Results.discover(tmp_path).root == tmp_path / "elsewhere"
