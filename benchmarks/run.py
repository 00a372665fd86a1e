"""Run the full-mode benchmark recipes and record their numbers in benchmarks/RESULTS.md.

    python benchmarks/run.py              # every recipe
    python benchmarks/run.py mlp_mnist    # one recipe

Each recipe in benchmarks/recipes/ trains a course model at its full budget on real data and
returns its metric, the time it took to first reach the target, and the total time (and, for a
recipe that compares variants of one model, each variant's metric and time: its "variants"). A recipe
declares METRIC, TARGET, ANCHOR and BETTER: "higher" (an accuracy must reach at least TARGET)
or "lower" (a loss or perplexity must fall to at most TARGET). Results
are merged into benchmarks/results.json (one entry per recipe, the latest run) and
RESULTS.md is regenerated from it, so a row always shows what was last measured.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
RECIPES = sorted(p.stem for p in (HERE / "recipes").glob("*.py") if not p.stem.startswith("_"))


DIRECTIONS = {"higher": "≥", "lower": "≤"}  # BETTER -> how the target reads in RESULTS.md


def reached(value: float, target: float, better: str) -> bool:
    """Whether ``value`` is at least as good as ``target`` when ``better`` is "higher" or "lower"."""
    if better not in DIRECTIONS:
        raise ValueError(f"BETTER must be 'higher' or 'lower'; got {better!r}.")
    return value >= target if better == "higher" else value <= target


def time_to_target(values: list[float], seconds: list[float], target: float, better: str) -> float | None:
    """Cumulative seconds until ``values`` first reaches ``target`` (None if never)."""
    elapsed = 0.0
    for value, s in zip(values, seconds):
        elapsed += s
        if reached(value, target, better):
            return elapsed
    return None


def render(results: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Full-mode recipes, run by `make bench` (`python benchmarks/run.py`). Each row is the latest",
        "measured run on the machine named in it; nothing here is copied from elsewhere except the",
        "anchor, the published number the recipe is compared with. The target column says which way is",
        "better: `≥` for a metric that must reach it (an accuracy), `≤` for one that must fall to it (a loss).",
        "",
        "| recipe | metric | measured | target | anchor | time to target | total time | machine | date |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(results):
        r = results[name]
        ttt = f"{r['time_to_target_s']:.0f} s" if r["time_to_target_s"] is not None else "not reached"
        target = f"{DIRECTIONS[r['better']]} {r['target']}"
        lines.append(f"| `{name}` | {r['metric']} | **{r['value']:.4g}** | {target} | {r['anchor']} | "
                     f"{ttt} | {r['total_s']:.0f} s | {r['machine']} | {r['date']} |")
    for name in sorted(results):
        variants = results[name].get("variants")
        if variants:  # a recipe that compares variants of one model: one row each, in the recipe's order
            lines += ["", f"`{name}`, each variant (the same metric, last epoch):", "",
                      "| variant | measured | total time |", "|---|---|---|"]
            lines += [f"| {v['name']} | {v['value']:.4g} | {v['total_s']:.0f} s |" for v in variants]
    notes = [f"- `{name}`: {results[name]['notes']}" for name in sorted(results) if results[name].get("notes")]
    lines += ["", *(["Notes of the latest runs:", "", *notes, ""] if notes else []),
              "Details of each recipe (model, budget) are in its file under `benchmarks/recipes/`.", ""]
    return "\n".join(lines + grading_section() + speed_section())


def grading_section() -> list[str]:
    """The grading rows, one table per assignment, from benchmarks/grading.json (benchmarks/grading_speed.py)."""
    from benchmarks.grading_speed import read_grading

    measured = read_grading()
    if not measured:
        return []
    lines = ["## Grading a class", "",
             "`python benchmarks/grading_speed.py --aid <assignment>`: the same submissions (correct, partial, blank",
             "and hostile ones) graded by each grader in turn, in one run on one machine.", ""]
    for aid, g in measured.items():
        lines += [f"### {aid}", "", "| grader | submissions | wall time | per submission | machine | date |",
                  "|---|---|---|---|---|---|"]
        for label, r in g["rows"].items():
            lines.append(f"| {label} | {r['submissions']} | {r['wall_s']:.0f} s | {r['s_per_submission']:.2f} s | "
                         f"{g['machine']} | {g['date']} |")
        lines += ["", f"Ours with `--jobs 1` took {g['ours_jobs1_vs_plain']}x plain nbgrader's time (aim: at most "
                  f"1.2x); `--jobs 2` was {g['jobs2_speedup']}x faster than `--jobs 1` (aim: at least 1.7x).", ""]
    return lines


def _ms(value: float) -> str:
    """Milliseconds to one decimal, or to three below 1 ms (a GPU's kernels: 0.0 ms would say nothing)."""
    return f"{value:.1f} ms" if value >= 1 else f"{value:.3f} ms"


def speed_section() -> list[str]:
    """Our references' time against torch's built-ins, from each benchmarks/*_speed.json (e.g. attention_speed.py).

    Each file maps a device type to {"machine", "date", "rows": [{"what", "ours_ms", "torch_ms", "ratio"}]}.
    """
    lines = []
    for path in sorted(HERE.glob("*_speed.json")):
        script = path.stem + ".py"
        lines += [f"## Speed against torch: `python benchmarks/{script}`", "",
                  "Forward and backward of one training step, ours and torch's timed alternately (medians). "
                  "Details in the script.", "",
                  "| reference | ours | torch | ratio | machine | date |", "|---|---|---|---|---|---|"]
        devices = json.loads(path.read_text()).values()
        for device in devices:
            for r in device["rows"]:
                lines.append(f"| {r['what']} | {_ms(r['ours_ms'])} | {_ms(r['torch_ms'])} | **{r['ratio']:.2f}x** "
                             f"| {device['machine']} | {device['date']} |")
        lines.append("")
        for device in devices:       # gpt_speed.py: generation with and without the KV cache, same tokens
            if device.get("kv_cache"):
                m = device.get("kv_cache_model", {})
                lines += [f"KV-cache generation (greedy, an untrained {m.get('layers')}-layer GPT of width "
                          f"{m.get('width')}, {m.get('prompt')}-token prompt; identical tokens checked):", "",
                          "| new tokens | cached | uncached | speed-up | machine | date |", "|---|---|---|---|---|---|"]
                lines += [f"| {r['tokens']} | {r['cached_s']:.2f} s | {r['uncached_s']:.2f} s | **{r['speedup']:.1f}x** "
                          f"| {device['machine']} | {device['date']} |" for r in device["kv_cache"]]
                lines.append("")
    return lines


def speed_row(what: str, ours_s: list[float], torch_s: list[float]) -> dict:
    """One row of a *_speed.json table from the timings (seconds) of ours and torch's, taken alternately."""
    import statistics
    ms_ours, ms_torch = 1e3 * statistics.median(ours_s), 1e3 * statistics.median(torch_s)
    return {"what": what, "ours_ms": round(ms_ours, 3), "torch_ms": round(ms_torch, 3),
            "ratio": round(ms_ours / ms_torch, 3)}


def speed_setup(doc: str, out: str, repeats: int, argv=None):
    """The speed scripts' command line (--device, --threads, --repeats, --out): (args, device, machine),
    with torch's threads set (one by default: on a shared machine a second one measures the neighbours)."""
    import torch
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--out", type=Path, default=HERE / out)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    return args, device, speed_machine(device, args.threads)


def speed_machine(device, threads: int) -> str:
    """How a speed table names the machine: the GPU, or the CPU and its torch threads."""
    import torch
    device = torch.device(device)
    return (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"cpu: {platform.machine()}, torch threads: {threads}")


def record_speed(out: Path, device_type: str, machine: str, rows: list[dict], **details) -> None:
    """Merge one device's rows into a *_speed.json (the other devices' stay) and, when it is benchmarks/'s
    own file, re-render RESULTS.md, which shows it next to the training recipes."""
    import torch
    results = json.loads(out.read_text()) if out.exists() else {}
    results[device_type] = {"machine": machine, "torch": torch.__version__, "date": dt.date.today().isoformat(),
                            **details, "rows": rows}
    out.write_text(json.dumps(results, indent=1) + "\n")
    if out.resolve().parent == HERE:
        store = HERE / "results.json"
        (HERE / "RESULTS.md").write_text(render(json.loads(store.read_text()) if store.exists() else {}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="*", default=RECIPES, help=f"any of: {', '.join(RECIPES)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.recipes) - set(RECIPES))
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; choose from {RECIPES}")
    store = HERE / "results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    failed = []
    for name in args.recipes:
        recipe = importlib.import_module(f"benchmarks.recipes.{name}")
        print(f"== {name}: {recipe.__doc__.strip().splitlines()[0]}")
        start = time.perf_counter()
        out = recipe.run()
        total = time.perf_counter() - start
        ttt = time_to_target(out["curve"], out["epoch_seconds"], recipe.TARGET, recipe.BETTER)
        results[name] = {
            "metric": recipe.METRIC, "value": out["value"], "target": recipe.TARGET, "better": recipe.BETTER,
            "anchor": recipe.ANCHOR,
            "time_to_target_s": ttt, "total_s": total, "machine": out["machine"],
            "date": dt.date.today().isoformat(), "python": platform.python_version(),
        }
        if out.get("notes"):  # what one number cannot say (e.g. optim_mnist's per-optimizer gaps and speeds)
            results[name]["notes"] = out["notes"]
        if out.get("variants"):  # a recipe comparing variants (regular_cifar, sunspot_rnn's baseline)
            results[name]["variants"] = out["variants"]
        ok = reached(out["value"], recipe.TARGET, recipe.BETTER)
        print(f"{name}: {recipe.METRIC} = {out['value']:.4f} (target {DIRECTIONS[recipe.BETTER]} {recipe.TARGET}: "
              f"{'reached' if ok else 'MISSED'}); time to target {ttt if ttt is None else round(ttt, 1)} s; "
              f"total {total:.1f} s")
        if not ok:
            failed.append(name)
    store.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (HERE / "RESULTS.md").write_text(render(results))
    print(f"updated {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
