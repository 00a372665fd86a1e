"""House rules of the repository: dependency lists agree, notebooks are paired, output-free and
follow the chapter anatomy, the README documents what exists, CI runs the README's command."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {r.replace(" ", "") for r in reqs}


def _environment_pip_requirements() -> set[str]:
    text = (ROOT / "environment.yml").read_text()
    block = text.split("- pip:", 1)[1]
    items = re.findall(r"^\s+-\s+(.+?)\s*$", block, flags=re.M)
    return {i.replace(" ", "") for i in items if not i.startswith("-e")}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    ours, conda = _pyproject_requirements(), _environment_pip_requirements()
    assert conda == ours, (f"environment.yml and pyproject.toml disagree: only in pyproject {sorted(ours - conda)}, "
                           f"only in environment.yml {sorted(conda - ours)}. Edit both together.")
    assert re.search(r"^\s+-\s+-e \.\s*$", (ROOT / "environment.yml").read_text(), flags=re.M)


def test_pyproject_has_lower_bounds_only():
    pinned = [r for r in _pyproject_requirements() if "==" in r or "<" in r]
    assert not pinned, f"pin exact versions in constraints.txt, not pyproject.toml: {pinned}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), flags=re.M)


def test_there_are_chapter_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_paired_output_free_and_in_sync(nb_path):
    import jupytext
    script = nb_path.with_suffix(".py")
    assert script.exists(), f"{nb_path.name} has no paired percent script; run `jupytext --set-formats ipynb,py:percent {nb_path}`"
    nb = json.loads(nb_path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, \
                f"{nb_path} is committed with outputs: clear them (jupytext --to ipynb {script.name} rewrites it clean)"
    from_script = jupytext.read(script)
    assert [(c.cell_type, c.source) for c in from_script.cells] == \
           [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]], \
        f"{nb_path.name} and {script.name} differ: edit the .py and run `jupytext --to ipynb {script}`"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_chapter_anatomy(nb_path):
    nb = json.loads(nb_path.read_text())
    cells = nb["cells"]
    title = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and title.startswith("# "), "the first cell is the title"
    assert re.search(r"CPU.*\d+\s*s", title, flags=re.S), "the header states the measured CPU run time"
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged `parameters` holds the budget"
    assert "fast_mode()" in "".join(params[0]["source"]), "the parameters cell reads dlcourse.fast_mode()"
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown").lower()
    if not nb_path.stem.startswith("00"):
        for section in ("exercise", "summary", "reference"):
            assert section in text, f"{nb_path.name} has no '{section}' section"


def test_readme_chapter_map_links_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for nb in NOTEBOOKS:
        rel = nb.relative_to(ROOT).as_posix()
        assert rel in readme, f"README's chapter map does not link {rel}"


def test_every_assignment_is_released_and_solved():
    for src in sorted((ROOT / "source").iterdir()):
        if src.is_dir():
            assert (ROOT / "release" / src.name / f"{src.name}.ipynb").exists(), f"release/{src.name} missing"
            assert (ROOT / "solutions" / src.name / f"{src.name}.ipynb").exists(), f"solutions/{src.name} missing"


def test_the_course_never_imports_the_grading_tools():
    """COURSE.md section 8: the house has floors; chapters and the package's course modules stand
    without dlcourse.grading (instructors' tools, which may change without touching a chapter)."""
    import ast

    offenders = []
    for path in [*(ROOT / "dlcourse").rglob("*.py"), *(ROOT / "notebooks").rglob("*.py")]:
        if "grading" in path.relative_to(ROOT).parts[:2]:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [f"{node.module}.{a.name}" if node.module else a.name for a in node.names] \
                if isinstance(node, ast.ImportFrom) else []
            if any("grading" in n.split(".") for n in names) or \
                    (isinstance(node, ast.ImportFrom) and node.module and "grading" in node.module.split(".")):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"course code imports dlcourse.grading: {offenders}"


def test_no_package_attribute_shadows_a_model_module():
    # `from dlcourse.models import alexnet` must mean one thing: the module (the builder stays inside it)
    import importlib
    import types

    models = importlib.import_module("dlcourse.models")
    for path in sorted((ROOT / "dlcourse" / "models").glob("*.py")):
        if path.stem != "__init__":
            assert isinstance(getattr(models, path.stem, None) or importlib.import_module(f"dlcourse.models.{path.stem}"),
                              types.ModuleType), f"dlcourse.models.{path.stem} is not the module {path.name}"


def test_exercise_checks_are_split_by_kind_and_assignments_name_their_chapter():
    """dlcourse/exercises/: chapters/ch<NN>_*.py per chapter notebook, assignments/a<NN>_*.py per
    assignment in source/, each naming (CHAPTER) the chapter notebook it practises."""
    import importlib

    exercises = ROOT / "dlcourse" / "exercises"
    assert sorted(p.name for p in exercises.glob("*.py")) == ["__init__.py"], "a check module outside its kind"
    chapters = {p.stem for p in (ROOT / "notebooks").rglob("*.py")}
    for path in sorted((exercises / "chapters").glob("ch*.py")):
        assert path.stem[2:] in chapters, f"{path.name} has no chapter notebook {path.stem[2:]}"
    assignments = sorted((exercises / "assignments").glob("a[0-9]*.py"))
    assert assignments
    for path in assignments:
        assert (ROOT / "source" / path.stem).is_dir(), f"{path.name} has no assignment source/{path.stem}"
        chapter = importlib.import_module(f"dlcourse.exercises.assignments.{path.stem}").CHAPTER
        assert chapter in chapters, f"{path.stem}.CHAPTER = {chapter!r} is not a chapter notebook"
    # notebooks downloaded before the split import the flat names; they still resolve
    old = importlib.import_module("dlcourse.exercises")
    assert old.ch12_resnet is importlib.import_module("dlcourse.exercises.chapters.ch12_resnet")
    assert old.a04_resnet_cifar10 is importlib.import_module("dlcourse.exercises.assignments.a04_resnet_cifar10")
    with pytest.raises(AttributeError):
        old.ch12_nothing_here
