"""Command line: ``dlcourse env`` prints the environment report; ``dlcourse data`` checks data;
``dlcourse lab`` opens the course in JupyterLab (what ``make lab`` runs)."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["lab"]:  # every other argument goes to `jupyter lab`
        from .lab import main as lab
        return lab(argv[1:])
    parser = argparse.ArgumentParser(prog="dlcourse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lab", help="open the course in JupyterLab (arguments go to `jupyter lab`)")
    sub.add_parser("env", help="print versions, device and where each data set is found")
    get = sub.add_parser("data", help="find (or download) data sets into the cache")
    get.add_argument("names", nargs="*", default=["mnist", "cifar10"],
                     help="mnist, cifar10, mr, sst2, trec, ag_news, tinyshakespeare")
    args = parser.parse_args(argv)
    if args.command == "env":
        from .environment import env_report
        env_report()
        return 0
    from . import data
    loaders = {"mnist": data.load_mnist, "cifar10": data.load_cifar10, "mr": data.load_mr,
               "sst2": data.load_sst2, "trec": data.load_trec, "ag_news": data.load_ag_news,
               "tinyshakespeare": data.load_tinyshakespeare}
    for name in args.names:
        if name not in loaders:
            parser.error(f"unknown data set {name!r}; choose from {', '.join(loaders)}")
        try:
            loaders[name]()
            print(f"{name}: ok")
        except data.DataNotFoundError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
