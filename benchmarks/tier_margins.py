"""How far each graded training tier sits from what the worked solution scores, over seeds.

    python benchmarks/tier_margins.py                  # every assignment with a training tier
    python benchmarks/tier_margins.py a03 a07 --seeds 5

A tier is fair when the worked solution clears it with every seed, by a margin larger than the
few images a CPU kind's fp32 rounding can move (source/README.md, "Tolerances"). This script
runs each assignment's worked solution (its answer cells, from solutions/) through the same
drivers the hidden tests call, in this process, with seeds 0..n-1 (the hidden tests use seed
0), and prints each tier, the scores and the smallest margin. It writes nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def worked_solution(aid: str) -> dict:
    """The namespace of solutions/<aid>'s cells, its test cells left out."""
    nb = nbformat.read(ROOT / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    namespace: dict = {"__name__": f"solution_{aid}"}
    cwd = os.getcwd()
    os.chdir(ROOT / "solutions" / aid)              # the notebook's own folder, as when it runs
    try:
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade", False):
                exec(compile(cell.source, f"<{aid}>", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


def a03(ns, seed):
    from dlcourse.exercises.assignments.a03_lenet5 import check_training
    return check_training(ns["LeNet5"], seed=seed, threshold=0.0)


def a04(ns, seed):
    from dlcourse.exercises.assignments.a04_resnet_cifar10 import check_training
    return check_training(ns["recipe"], seed=seed)


def a05(ns, seed):
    from dlcourse.exercises.assignments.a05_custom_cnn import check_accuracy
    return check_accuracy(ns["CustomCNN"], seed=seed)


def a06(ns, seed):
    from dlcourse.exercises.assignments.a06_rnn_timeseries import trained_rmse
    return trained_rmse(ns["Forecaster"], seed, 12)[0]


def _text(cls, dataset, seed):
    from dlcourse.exercises.assignments.text_checks import trained_accuracy
    return trained_accuracy(cls, dataset, seed)[0]


def a07(ns, seed):
    return _text(ns["SentimentLSTM"], "sst2", seed)


def a08(ns, seed):
    return _text(ns["QuestionGRU"], "trec", seed)


def a09(ns, seed):
    from dlcourse.exercises.assignments.a09_transformer import trained_accuracy
    return trained_accuracy(ns["ToyTransformer"], seed, 8)[0]


def a11(ns, seed):
    from dlcourse.exercises.assignments.a11_small_gpt import trained_loss
    return trained_loss(ns["SmallGPT"], seed)


def _persistence():
    from dlcourse.exercises.assignments.a06_rnn_timeseries import persistence_rmse
    return persistence_rmse(12)


# assignment -> (folder, how it is scored, tiers as (name, threshold), "higher" or "lower" is better)
TIERS = {
    "a03": ("a03_lenet5", a03, [("92%", 0.92)], "higher"),
    "a04": ("a04_resnet_cifar10", a04, [("tier 1", 0.25), ("tier 2", 0.30)], "higher"),
    "a05": ("a05_custom_cnn", a05, [("tier 1", 0.55), ("tier 2", 0.63), ("tier 3", 0.70)], "higher"),
    "a06": ("a06_rnn_timeseries", a06, [("persistence RMSE", None)], "lower"),
    "a07": ("a07_lstm_sentiment", a07, [("SST-2 dev", 0.70)], "higher"),
    "a08": ("a08_gru_textclass", a08, [("TREC test", 0.75)], "higher"),
    "a09": ("a09_transformer", a09, [("tokens reversed", 0.90)], "higher"),
    "a11": ("a11_small_gpt", a11, [("validation loss", 2.35)], "lower"),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", default=list(TIERS), help=f"any of: {', '.join(TIERS)}")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    import dlcourse
    dlcourse.setup(seed=0, threads=1, quiet=True)   # graded runs use one thread (the grader sets OMP_NUM_THREADS=1)
    for key in args.assignments:
        folder, score, tiers, better = TIERS[key]
        ns = worked_solution(folder)
        start = time.perf_counter()
        values = [score(ns, seed) for seed in range(args.seeds)]
        worst = min(values) if better == "higher" else max(values)
        shown = ", ".join(f"{v:.4f}" for v in values)
        for name, threshold in tiers:
            threshold = _persistence() if threshold is None else threshold
            margin = worst - threshold if better == "higher" else threshold - worst
            print(f"{key} {name}: needs {'>=' if better == 'higher' else '<'} {threshold:.4f}; seeds 0-{args.seeds - 1}: "
                  f"{shown}; worst {worst:.4f}, margin {margin:+.4f} ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
