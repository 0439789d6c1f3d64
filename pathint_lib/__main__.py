"""Command line: ``python -m pathint_lib verify [--device cpu|cuda|mps] [--json PATH]``.

Further options: ``--chapter N`` and ``--claim NAME`` (both repeatable) select
claims; ``--markdown`` prints the table as Markdown.

``verify`` runs every registered claim of the book (:mod:`pathint_lib.claims`)
on the device and prints a table. Exit status: 0 when every claim passes, 1
when one fails, 2 for a usage error (such as an unknown or missing device).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pathint_lib",
        description="Support library of the book "
        "'Residual networks as path integrals'.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser(
        "verify", help="check every claim of the book's library on a device"
    )
    verify.add_argument(
        "--device",
        default=None,
        help="cpu, cuda or mps (default: cuda, then mps, then cpu)",
    )
    verify.add_argument("--json", metavar="PATH", help="also write the records as JSON")
    verify.add_argument(
        "--chapter", type=int, action="append", help="only this chapter (repeatable)"
    )
    verify.add_argument(
        "--claim", action="append", metavar="NAME", help="only this claim (repeatable)"
    )
    verify.add_argument(
        "--markdown", action="store_true", help="print a Markdown table"
    )
    return parser


def _verify(args: argparse.Namespace) -> int:
    import torch

    from .claims import format_table, run_all, to_markdown
    from .device import describe_device, pick_device

    try:
        device = pick_device(args.device)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mps = getattr(torch.backends, "mps", None)
    has_gpu = torch.cuda.is_available() or bool(mps is not None and mps.is_available())
    if args.device is None and device.type == "cpu" and not has_gpu:
        print("no GPU found; running on cpu")
    print(f"device: {describe_device(device)}")
    torch.manual_seed(0)
    try:
        records = run_all(device, chapters=args.chapter, names=args.claim)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(to_markdown(records) if args.markdown else format_table(records))
    failed = [r for r in records if not r.passed]
    for r in failed:
        print(f"FAILED {r.name}: {r.detail}")
    total = sum(r.seconds for r in records)
    print(f"{len(records) - len(failed)}/{len(records)} claims passed in {total:.1f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump([dataclasses.asdict(r) for r in records], fh, indent=1)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.command == "verify":
        return _verify(args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return 2


if __name__ == "__main__":
    sys.exit(main())
