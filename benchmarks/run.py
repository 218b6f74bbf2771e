"""Benchmarks of advise's engine against the plain code a user would write without it.

Each figure is a ratio, advise / reference, measured in one run on the same inputs (> 1: advise is better).
Usage: python benchmarks/run.py [--quick] [--only gen,train,retrieval,e2e,plain | --all] [--markdown FILE]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo, for `advisor`, when run from anywhere

from rows import Row, log  # noqa: E402

PARTS = ("gen", "train", "retrieval", "e2e", "plain")
DEFAULT = ("gen", "train", "retrieval")  # e2e and plain take minutes each: only with --only or --all


def machine() -> str:
    import torch

    from advisor.backends.local import configure_threads

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    flags = Path("/proc/cpuinfo").read_text()
    native_bf16 = "amx_bf16" in flags or "avx512_bf16" in flags
    cores = len(os.sched_getaffinity(0))
    threads = configure_threads()
    one, five, fifteen = os.getloadavg()
    return (f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {cores} cores ({model}"
            f"{', native bf16 (AMX/AVX512-BF16)' if native_bf16 else ''}); torch {torch.__version__}, "
            f"{threads} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; "
            f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} at start")


def pin_cores(n: int) -> None:
    """Run on n cores: affinity (advise's configure_threads follows it) and the BLAS/OpenMP pools, set before import."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:n])
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)


def markdown(rows: list[Row]) -> str:
    lines = ["| part | measure | advise | plain reference | ratio | notes |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.part} | {r.measure} | {r.advise} | {r.reference} | {r.ratio} | {r.note} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of the harness, not numbers")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(PARTS)} (default: {','.join(DEFAULT)})")
    parser.add_argument("--all", action="store_true", help="every part, including the slow end-to-end run")
    parser.add_argument("--markdown", type=Path, help="also write the header and table to this file")
    parser.add_argument("--cores", type=int, help="pin to this many of the allowed cores (default: all, as advise does)")
    parser.add_argument("--omp-passive", action="store_true",
                        help="OMP_WAIT_POLICY=PASSIVE for both sides: on a shared machine, spinning OpenMP threads stall"
                             " each other (measured 16x slower generation at 2 threads with another job running)")
    parser.add_argument("--before", metavar="REV", help="end to end: also run git revision REV cold first, on the same "
                                                         "machine in the same run (before/after figures)")
    parser.add_argument("--keep", metavar="DIR", type=Path, help="end to end: keep the run folders in DIR (a new "
                                                                   "folder) instead of a temporary one")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True)
        os.environ["ADVISE_BENCH_KEEP"] = str(args.keep.resolve())
    if args.before:
        os.environ["ADVISE_BENCH_BEFORE"] = args.before
    parts = PARTS if args.all else tuple(p.strip() for p in args.only.split(",")) if args.only else DEFAULT
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")

    if args.cores:
        pin_cores(args.cores)
    if args.omp_passive:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # read by libgomp when torch loads: must precede the import
    header = f"Machine: {machine()}" + (" -- QUICK MODE (smoke sizes)" if args.quick else "")
    print(header + "\n\n" + markdown([]), flush=True)
    rows: list[Row] = []
    failed = False
    for part in PARTS:
        if part in parts:
            log(f"{part} ...")
            try:
                new = __import__(f"bench_{part}").run(args.quick)
            except Exception as err:  # one broken part must not cost the others' numbers
                traceback.print_exc()
                failed, new = True, [Row(part, "FAILED", "-", "-", "", f"{type(err).__name__}: {err}")]
            print("\n".join(markdown(new).splitlines()[2:]), flush=True)  # rows as each part ends: a kill keeps them
            rows += new
    if args.markdown:
        args.markdown.write_text(header + "\n\n" + markdown(rows) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
