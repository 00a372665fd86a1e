"""The benchmark harness: time-to-target arithmetic, the RESULTS.md table, and the recipes import."""
from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import run  # noqa: E402


def test_time_to_target_is_cumulative_until_first_reached():
    assert run.time_to_target([0.90, 0.97, 0.981, 0.99], [10, 10, 10, 10], 0.98, "higher") == 30
    assert run.time_to_target([0.90, 0.97], [10, 10], 0.98, "higher") is None


def test_a_loss_reaches_its_target_by_falling_to_it():
    assert run.time_to_target([2.0, 1.6, 1.49, 1.2], [10, 10, 10, 10], 1.5, "lower") == 30
    assert run.time_to_target([2.0, 1.6], [10, 10], 1.5, "lower") is None
    assert run.reached(1.5, 1.5, "lower") and not run.reached(1.51, 1.5, "lower")
    with pytest.raises(ValueError, match="'higher' or 'lower'"):
        run.reached(1.0, 1.5, "smaller")


def test_results_table_shows_measured_value_target_and_anchor():
    table = run.render({"mlp_mnist": {"metric": "acc", "value": 0.9886, "target": 0.98, "better": "higher",
                                      "anchor": "98.4% (paper)", "time_to_target_s": 58.2, "total_s": 119.8,
                                      "machine": "cpu", "date": "d"}})
    assert "| `mlp_mnist` | acc | **0.9886** | ≥ 0.98 | 98.4% (paper) | 58 s | 120 s | cpu | d |" in table


def test_a_recipes_variants_get_one_row_each_in_their_order():
    entry = {"metric": "acc", "value": 0.7, "target": 0.65, "better": "higher", "anchor": "a", "time_to_target_s": 1,
             "total_s": 9, "machine": "cpu", "date": "d",
             "variants": [{"name": "plain", "value": 0.55, "total_s": 100.4}, {"name": "+ BN", "value": 0.7,
                                                                               "total_s": 120}]}
    table = run.render({"regular": entry, "other": {**entry, "variants": None}})
    rows = table[table.index("`regular`, each variant"):]
    assert "| plain | 0.55 | 100 s |\n| + BN | 0.7 | 120 s |" in rows
    assert "`other`, each variant" not in table


@pytest.mark.parametrize("final, status", [(1.4, 0), (1.6, 1)])
def test_a_lower_is_better_recipe_runs_end_to_end(tmp_path, monkeypatch, final, status):
    recipe = types.ModuleType("benchmarks.recipes.toy_loss")
    recipe.__doc__ = "A toy language model's validation loss falls to 1.5.\n\nAnchor: none, a test."
    recipe.METRIC, recipe.TARGET, recipe.BETTER, recipe.ANCHOR = "val loss", 1.5, "lower", "1.5 (a test)"
    recipe.run = lambda: {"value": final, "curve": [2.0, 1.45, final], "epoch_seconds": [1.0, 1.0, 1.0],
                          "machine": "cpu"}
    monkeypatch.setitem(sys.modules, recipe.__name__, recipe)
    monkeypatch.setattr(run, "RECIPES", ["toy_loss"])
    monkeypatch.setattr(run, "HERE", tmp_path)  # results.json and RESULTS.md are written here
    assert run.main(["toy_loss"]) == status  # 1.6 missed the target even though 1.45 passed it on the way
    stored = json.loads((tmp_path / "results.json").read_text())["toy_loss"]
    assert stored["better"] == "lower" and stored["time_to_target_s"] == 2.0
    assert f"| `toy_loss` | val loss | **{final:.4g}** | ≤ 1.5 |" in (tmp_path / "RESULTS.md").read_text()


@pytest.mark.parametrize("name", run.RECIPES)
def test_recipe_declares_its_target_and_anchor(name):
    recipe = importlib.import_module(f"benchmarks.recipes.{name}")
    assert callable(recipe.run) and recipe.TARGET > 0 and recipe.ANCHOR and recipe.METRIC
    assert recipe.BETTER in run.DIRECTIONS, "declare BETTER = 'higher' (an accuracy) or 'lower' (a loss)"
    assert recipe.__doc__ and "Anchor" in recipe.__doc__


def test_every_recipe_has_a_recorded_result():
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    for name in run.RECIPES:
        assert f"`{name}`" in results, f"run `make bench RECIPES={name}` and commit benchmarks/RESULTS.md"


def test_speed_files_become_a_table_of_ratios(tmp_path, monkeypatch):
    row = {"what": "MultiheadAttention", "ours_ms": 12.34, "torch_ms": 10.0, "ratio": 1.234}
    (tmp_path / "attention_speed.json").write_text(json.dumps({"cpu": {"machine": "cpu, 1 thread", "date": "d",
                                                                       "rows": [row]}}))
    monkeypatch.setattr(run, "HERE", tmp_path)
    table = run.render({})
    assert "## Speed against torch: `python benchmarks/attention_speed.py`" in table
    assert "| MultiheadAttention | 12.3 ms | 10.0 ms | **1.23x** | cpu, 1 thread | d |" in table
    (tmp_path / "attention_speed.json").write_text(json.dumps({"cuda": {"machine": "gpu", "date": "d", "rows": [
        {**row, "ours_ms": 0.0912, "torch_ms": 0.04}]}}))
    assert "| MultiheadAttention | 0.091 ms | 0.040 ms | **1.23x** | gpu | d |" in run.render({})


def test_a_recipes_notes_are_listed_under_the_table():
    row = {"metric": "acc", "value": 0.981, "target": 0.98, "better": "higher", "anchor": "a", "time_to_target_s": 1.0,
           "total_s": 2.0, "machine": "cpu", "date": "d"}
    table = run.render({"optim_mnist": {**row, "notes": "Adam: gap +0.00 points"}, "mlp_mnist": row})
    assert "- `optim_mnist`: Adam: gap +0.00 points" in table and "- `mlp_mnist`" not in table
    assert "Notes of the latest runs" not in run.render({"mlp_mnist": row})


def test_resnet_cifar_recipe_runs_in_fast_mode():
    """A smoke run of the recipe's whole path (batch augmentation, flip TTA, fit) on a few real images."""
    from benchmarks.recipes import resnet_cifar
    out = resnet_cifar.run(epochs=1, train_limit=256, test_limit=200, widths=(8, 16), batch_size=64, threads=1)
    assert len(out["curve"]) == len(out["epoch_seconds"]) == 1 and 0 <= out["value"] <= 1
    assert "training images/s" in out["notes"]


def test_resnet_cifar_batches_are_flipped_and_shifted_crops_of_the_images():
    import torch
    from benchmarks.recipes.resnet_cifar import AugmentedBatches
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.uint8).view(2, 3, 8, 8) % 251
    batches = AugmentedBatches(images, torch.tensor([0, 1]), 2, "cpu", train=True, seed=0, pad=2)
    x, y = next(iter(batches))
    plain = (images.float() - batches.mean) / batches.std
    for i in range(2):   # each output is one of the 2 x 5 x 5 flipped/shifted crops of its own image
        src = plain[y[i]]
        crops = [torch.nn.functional.pad(s[None], (2,) * 4, mode="reflect")[0][:, a:a + 8, b:b + 8]
                 for s in (src, src.flip(2)) for a in range(5) for b in range(5)]
        assert any(torch.allclose(x[i], c) for c in crops)


def test_resnet_cifar_alternating_flips_show_each_image_both_ways_in_consecutive_epochs():
    import torch
    from benchmarks.recipes.resnet_cifar import AugmentedBatches
    images = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    batches = AugmentedBatches(images, torch.arange(6), 6, "cpu", train=True, pad=0, flip="alternate")
    plain = (images.float() - batches.mean) / batches.std
    (x0, y0), = list(batches)
    (x1, y1), = list(batches)
    first = {int(y): torch.equal(x, plain[y].flip(2)) for x, y in zip(x0, y0)}
    second = {int(y): torch.equal(x, plain[y].flip(2)) for x, y in zip(x1, y1)}
    assert all(first[k] != second[k] for k in first) and any(first.values()) and not all(first.values())
    assert len(AugmentedBatches(images, torch.arange(6), 4, "cpu", train=True, drop_last=True)) == 1


def test_resnet_cifar_schedule_and_decoupled_rates_are_airbenchs():
    import torch
    from benchmarks.recipes import resnet_cifar as r
    f = r.triangle(100, start=0.2, peak=0.23, end=0.07)
    assert [round(f(s), 6) for s in (0, 23, 100)] == [0.2, 1.0, 0.07] and f(10) < f(20) and f(50) > f(80)
    groups = r.param_groups(r.TTA(r.resnet_whitened()), batch_size=1024)
    # airbench94: lr 11.5 / (1024 * (1 + 1 / 0.15)) per summed example = 1.5 on a mean loss at batch 1024
    assert abs(groups[1]["lr"] - 11.5 / (1 + 1 / 0.15)) < 1e-9 and groups[0]["lr"] == 64 * groups[1]["lr"]
    assert all(torch.is_tensor(p) and p.dim() == 1 for p in groups[0]["params"])
    decay = [g["lr"] * g["weight_decay"] for g in groups]     # the same decay per step in both groups
    assert abs(decay[0] - decay[1]) < 1e-12


def test_speed_scripts_record_one_device_and_keep_the_others(tmp_path):
    from benchmarks import run
    out = tmp_path / "x_speed.json"
    run.record_speed(out, "cuda", "gpu", [run.speed_row("a", [0.003, 0.001, 0.002], [0.001, 0.001, 0.001])])
    run.record_speed(out, "cpu", run.speed_machine("cpu", 1), [run.speed_row("a", [0.004], [0.002])], shape={"n": 1})
    saved = json.loads(out.read_text())
    assert saved["cuda"]["rows"] == [{"what": "a", "ours_ms": 2.0, "torch_ms": 1.0, "ratio": 2.0}]  # medians
    assert saved["cpu"]["shape"] == {"n": 1} and saved["cpu"]["machine"].endswith("torch threads: 1")
    assert not (tmp_path / "RESULTS.md").exists()  # only benchmarks/'s own files re-render RESULTS.md


def test_vit_cifar_recipe_runs_in_fast_mode():
    """A smoke run of the ViT recipe's whole path (augmented batches, AdamW groups, warm-up, fit) on real images."""
    from benchmarks.recipes import vit_cifar
    out = vit_cifar.run(epochs=1, train_limit=256, test_limit=200, batch_size=64, threads=1, num_layers=1,
                        hidden_dim=32, num_heads=2, mlp_dim=64)
    assert len(out["curve"]) == len(out["epoch_seconds"]) == 1 and 0 <= out["value"] <= 1
    assert "training images/s" in out["notes"]
    factor = vit_cifar.warmup_cosine(100, 0.1)
    assert factor(0) == 0.1 and factor(9) == 1.0 and abs(factor(99)) < 1e-2


def test_vae_mnist_recipe_runs_in_fast_mode():
    """A smoke run of the VAE recipe's whole path (fit with the ELBO step, prior samples, the yardstick's FID)."""
    from benchmarks.recipes import vae_mnist
    out = vae_mnist.run(epochs=1, train_limit=1000, hidden=(64,), latent=4, samples=1000)
    assert len(out["curve"]) == len(out["epoch_seconds"]) == 1 and 150 < out["value"] < 550
    assert "KL" in out["notes"] and "FID of 1,000 prior samples" in out["notes"]


def test_cgan_mnist_recipe_runs_in_fast_mode():
    """A smoke run of the conditional GAN recipe (two optimizers through fit, judged samples, FID)."""
    from benchmarks.recipes import cgan_mnist
    out = cgan_mnist.run(epochs=1, train_limit=640, width=8, samples=1000)
    assert len(out["curve"]) == len(out["epoch_seconds"]) == 1 and 0 <= out["value"] <= 1
    assert "FID of the 1,000 samples" in out["notes"]
