"""No code runs that the data or the parameters could write: no eval/exec, no unsafe loaders.

Parameter files, results tables and models are inputs a user may get from someone else (a
shared ``params.yaml``, a results folder, ``results/models/segmentation.json``). Reading them
must never execute anything: ``eval``/``exec`` of strings, ``yaml.load`` with a full loader
(``!!python/object`` tags), ``pickle``/``joblib`` and friends (a pickle is a program) and shell
command lines (a path or name from data becomes shell syntax) are all ways in. This test
reads the syntax tree of every module of the library, every stage script, the benchmarks and
the Snakefile rules, and fails on any of them unless it is listed in :data:`ALLOWED` with the
reason it is safe. (Report documents run their own code chunks in a kernel: that code is
part of the project, not data.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import ROOT

#: Python sources scanned as syntax trees.
PY_SOURCES = sorted([*(ROOT / "src" / "segtarget").rglob("*.py"), *(ROOT / "scripts").glob("*.py"),
                     *(ROOT / "benchmarks").glob("*.py")])
#: Snakemake files (Python with rule syntax, so scanned line by line).
SMK_SOURCES = sorted([ROOT / "workflow" / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")])

#: "path:call" -> why it is safe. Keep it empty unless there is no other way.
ALLOWED: dict[str, str] = {}

_BUILTINS = {"eval", "exec", "__import__", "compile"}
_UNSAFE_MODULES = {"pickle", "cPickle", "cloudpickle", "dill", "joblib", "marshal", "shelve", "torch"}
_UNSAFE_ATTRS = {"read_pickle", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all"}
_YAML_UNSAFE_LOADERS = {"Loader", "FullLoader", "UnsafeLoader", "CLoader", "CFullLoader", "CUnsafeLoader"}
_SAFE_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def unsafe_calls(source: str) -> list[str]:
    """``line: call`` for every call in ``source`` that could run code taken from input.

    Examples
    --------
    >>> unsafe_calls("import yaml\\nyaml.safe_load(s)\\nyaml.load(s, Loader=yaml.SafeLoader)")
    []
    >>> unsafe_calls("x = eval(s)\\nyaml.load(s)\\npickle.loads(b)")
    ['1: eval', '2: yaml.load', '3: pickle.loads']
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in _YAML_UNSAFE_LOADERS and _dotted(node.value) == "yaml":
            found.append((node.lineno, _dotted(node)))
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, attr = name.rpartition(".")
        kwargs = {k.arg: k.value for k in node.keywords}
        bad = (
            name in _BUILTINS
            or (name.endswith(".eval") and head not in ("", "self"))  # DataFrame.eval / pd.eval
            or name.endswith(".query")  # DataFrame.query evaluates an expression string
            or (head.split(".")[-1] in _UNSAFE_MODULES and attr in ("load", "loads", "Unpickler", "open"))
            or attr in _UNSAFE_ATTRS
            or (head == "os" and attr in ("system", "popen"))
            or (attr in ("load", "load_all") and head == "yaml"
                and _dotted(kwargs.get("Loader", ast.Name("?"))).split(".")[-1] not in _SAFE_LOADERS)
            or (attr == "load" and isinstance(kwargs.get("allow_pickle"), ast.Constant) and kwargs["allow_pickle"].value)
            or (isinstance(kwargs.get("shell"), ast.Constant) and kwargs["shell"].value is True)
        )
        if bad:
            found.append((node.lineno, name))
    return [f"{line}: {name}" for line, name in sorted(set(found))]


_SMK_PATTERN = re.compile(r"\b(eval|exec|__import__)\s*\(|yaml\.(load|full_load|unsafe_load)\s*\(|"
                          r"\b(pickle|joblib|dill|cloudpickle|marshal)\.|shell\s*=\s*True|os\.(system|popen)\s*\(")


def test_the_scan_covers_the_code():
    names = {p.relative_to(ROOT).as_posix() for p in PY_SOURCES}
    assert {"src/segtarget/core/params.py", "src/segtarget/report/pandoc.py", "scripts/segment.py"} <= names
    assert any(p.name == "common.smk" for p in SMK_SOURCES)


@pytest.mark.parametrize("path", PY_SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_code_from_inputs_is_run(path):
    rel = path.relative_to(ROOT).as_posix()
    found = [f"{rel}:{hit}" for hit in unsafe_calls(path.read_text(encoding="utf-8"))]
    left = [hit for hit in found if f"{rel}:{hit.split(': ', 1)[1]}" not in ALLOWED]
    assert not left, "code that could run what an input says (add a safe alternative, or an ALLOWED reason): " + \
        "; ".join(left)


def test_snakemake_files_load_nothing_unsafely():
    found = []
    for path in SMK_SOURCES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if _SMK_PATTERN.search(code):
                found.append(f"{path.relative_to(ROOT).as_posix()}:{n}: {line.strip()}")
    assert not found, "; ".join(found)


@pytest.mark.parametrize("snippet", [
    "eval(text)", "exec(code)", "__import__(name)", "df.eval(expr)", "df.query(expr)", "pd.eval(expr)",
    "yaml.load(s)", "yaml.load(s, Loader=yaml.Loader)", "yaml.full_load(s)", "yaml.unsafe_load(s)",
    "pickle.load(f)", "pickle.loads(b)", "joblib.load(path)", "dill.load(f)", "pd.read_pickle(path)",
    "np.load(path, allow_pickle=True)", "subprocess.run(cmd, shell=True)", "os.system(cmd)", "torch.load(p)",
    "shelve.open(path)", "marshal.loads(b)",
])
def test_the_scan_catches_each_unsafe_call(snippet):
    assert unsafe_calls(snippet), snippet


@pytest.mark.parametrize("snippet", [
    "yaml.safe_load(s)", "yaml.load(s, Loader=yaml.SafeLoader)", "yaml.load(s, Loader=CSafeLoader)",
    "json.load(f)", "np.load(path)", "subprocess.run([exe, path])", "re.compile(p)", "con.execute(expr)",
    "model.evaluate(x)", "typst.compile(src)", "joblib.Parallel(n_jobs=2)", "pickle.dumps(x)",
    "platform.system()",
])
def test_the_scan_lets_safe_calls_through(snippet):
    assert unsafe_calls(snippet) == [], snippet
