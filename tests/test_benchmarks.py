"""The benchmark harness: time-to-target arithmetic, the RESULTS.md table, and the recipes import."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import run  # noqa: E402


def test_time_to_target_is_cumulative_until_first_reached():
    assert run.time_to_target([0.90, 0.97, 0.981, 0.99], [10, 10, 10, 10], 0.98) == 30
    assert run.time_to_target([0.90, 0.97], [10, 10], 0.98) is None


def test_results_table_shows_measured_value_target_and_anchor():
    table = run.render({"mlp_mnist": {"metric": "acc", "value": 0.9886, "target": 0.98, "anchor": "98.4% (paper)",
                                      "time_to_target_s": 58.2, "total_s": 119.8, "machine": "cpu", "date": "d"}})
    assert "| `mlp_mnist` | acc | **0.9886** | 0.98 | 98.4% (paper) | 58 s | 120 s | cpu | d |" in table


@pytest.mark.parametrize("name", run.RECIPES)
def test_recipe_declares_its_target_and_anchor(name):
    recipe = importlib.import_module(f"benchmarks.recipes.{name}")
    assert callable(recipe.run) and 0 < recipe.TARGET <= 1 and recipe.ANCHOR and recipe.METRIC
    assert recipe.__doc__ and "Anchor" in recipe.__doc__


def test_every_recipe_has_a_recorded_result():
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    for name in run.RECIPES:
        assert f"`{name}`" in results, f"run `make bench RECIPES={name}` and commit benchmarks/RESULTS.md"
