"""benchmark/STUDY.md, the repository's own account of the study, against the code it describes.

Each table of STUDY.md is found by its header line and compared with the code that holds the
same facts, so that neither can change without the other.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from benchmark import architectures, overrides, published
from tuners import spaces

# Reads files: the same on every backend, so CI runs it once.
pytestmark = pytest.mark.any_backend

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "benchmark" / "STUDY.md"

SPACES_HEADER = "| arch | name | values | default | the report's words |"
PRESETS_HEADER = "| arch | setting | baseline | best | the report |"
FINAL_HEADER = "| arch | test accuracy |"
ABLATIONS_HEADER = "| arch | factor | value: test accuracy |"
MLP_HEADER = "| factor | finding |"


def table(header: str, text: str | None = None) -> list[list[str]]:
    """The rows (cells stripped) of STUDY.md's one pipe table whose header line is `header`."""
    lines = (STUDY.read_text() if text is None else text).splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == header]
    assert len(starts) == 1, f"STUDY.md needs exactly one table headed {header!r}"
    rows = []
    for line in lines[starts[0] + 2:]:  # past the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    width = header.count("|") - 1
    assert rows, f"the table headed {header!r} is empty"
    bad = [r for r in rows if len(r) != width]
    assert not bad, f"rows of {header!r} without {width} cells: {bad}"
    return rows


def values(cell: str) -> list:
    """A cell such as `none, step` or `[32, 64], [32, 64, 128]` or `1e-5`, as a list.

    Bare words become strings; true/false are booleans; numbers and lists are JSON's.
    """
    text = cell.strip().strip("`")
    quoted = re.sub(r"\b(?!true\b|false\b)([A-Za-z_]\w*)", r'"\1"', text)
    return json.loads(f"[{quoted}]")


def one(cell: str):
    (value,) = values(cell)
    return value


def same(a, b) -> bool:
    """Equal as JSON: tuples and lists alike, but 1 is not True and 0 is not 0.0."""
    return json.dumps(a) == json.dumps(b)


def code_name(cell: str) -> str:
    assert cell.startswith("`") and cell.endswith("`"), f"{cell!r} is not a `name`"
    return cell.strip("`")


@cache
def resolved(arch: str, preset: str):
    return overrides.resolve(arch, preset)


def test_search_spaces_match_tuners_spaces():
    rows = table(SPACES_HEADER)
    assert {r[0] for r in rows} == set(architectures.names())
    for arch in architectures.names():
        space = spaces.describe(arch)
        documented = {code_name(r[1]): r for r in rows if r[0] == arch}
        assert len(documented) == len([r for r in rows if r[0] == arch]), f"{arch}: a name twice"
        assert set(documented) == set(space), arch
        for name, row in documented.items():
            assert same(values(row[2]), space[name]["values"]), (arch, name, row[2])
            assert same(one(row[3]), space[name]["default"]), (arch, name, row[3])


def test_presets_match_benchmark_presets():
    rows = table(PRESETS_HEADER)
    assert {r[0] for r in rows} == set(architectures.names())
    for arch in architectures.names():
        assert overrides.preset_names(arch) == ["baseline", "best"], arch
        documented = [code_name(r[1]) for r in rows if r[0] == arch]
        assert len(documented) == len(set(documented)), f"{arch}: a setting twice"
        for preset in ("baseline", "best"):
            given = architectures.get(arch).presets[preset]
            missing = (set(given["model"]) | set(given["training"])) - set(documented)
            assert not missing, f"{arch}/{preset} sets {missing}, which STUDY.md does not list"
    for arch, setting, baseline, best, _ in rows:
        name = code_name(setting)
        for preset, cell in (("baseline", baseline), ("best", best)):
            config = resolved(arch, preset)
            if name in config.model:
                actual = config.model[name]
            else:
                assert hasattr(config.training, name), f"{arch}: no setting {name!r}"
                actual = getattr(config.training, name)
            assert same(one(cell), actual), (arch, preset, name, cell, actual)


def test_final_accuracies_match_report_final():
    rows = table(FINAL_HEADER)
    documented = {arch: float(accuracy) for arch, accuracy in rows}
    assert len(documented) == len(rows)
    assert documented == published.FINAL


def ablations(text: str | None = None) -> dict[tuple[str, str, str], float]:
    out = {}
    for arch, factor, cell in table(ABLATIONS_HEADER, text):
        for item in cell.split(";"):
            match = re.fullmatch(r"`([^`]+)`\s+(\d+\.\d+)", item.strip())
            assert match, f"{arch} {factor}: cannot read {item!r} as `value` accuracy"
            key = (arch, code_name(factor), match[1])
            assert key not in out, f"{key} twice"
            out[key] = float(match[2])
    return out


def test_ablation_accuracies_match_the_published_module():
    documented = ablations()
    assert documented == published.STUDY_TEST_ACCURACY
    for arch, factor, _ in documented:
        assert factor in spaces.describe(arch), (arch, factor)


def test_a_changed_number_fails():
    """The comparison above notices one digit: the check is not vacuous."""
    text = STUDY.read_text()
    changed = text.replace("`sgd` 0.3147", "`sgd` 0.3148")
    assert changed != text
    assert ablations(changed) != published.STUDY_TEST_ACCURACY


def test_mlp_findings_cover_the_study_notes():
    factors = [code_name(r[0]) for r in table(MLP_HEADER)]
    assert len(factors) == len(set(factors))
    assert set(factors) == {f for a, f in published.STUDY_NOTES if a == "mlp"}
    assert set(factors) <= set(spaces.describe("mlp"))


def test_readme_links_the_study():
    assert "](benchmark/STUDY.md)" in (REPO / "README.md").read_text()


def sources() -> list[Path]:
    files = [REPO / "README.md", REPO / "app.py"]
    for folder in ("benchmark", "tuners", "tests"):
        files += sorted((REPO / folder).rglob("*.py")) + sorted((REPO / folder).rglob("*.md"))
    return [f for f in files if f.is_file()]


def test_references_name_sections_that_exist():
    headings = {line.lstrip("#").strip() for line in STUDY.read_text().splitlines()
                if line.startswith("#")}
    gone = re.compile(r"SPEC\.md|seed-report|`docs/`")
    for path in sources():
        text = path.read_text()
        for cited in re.findall(r'STUDY\.md, "([^"]+)"', text):
            section = re.sub(r"\s*\n\s*#?\s*", " ", cited)  # a citation may wrap a line
            assert section in headings, f"{path.relative_to(REPO)} cites a missing section {section!r}"
        if path != Path(__file__).resolve():
            assert not gone.search(text), f"{path.relative_to(REPO)} cites a document not in the repo"
