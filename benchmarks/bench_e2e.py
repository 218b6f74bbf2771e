"""End to end: `advise compare` on the main example (README), cold (fresh run folder) then warm (same folder)."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rows import REPO, Row, load_now, log, ratio

MAIN_EXAMPLE = REPO / "examples" / "handbook-qa" / "task.yaml"  # the README's main command


# Runs the command as this wrapper's only child, so RUSAGE_CHILDREN's peak RSS is that command's (and its own
# children's) alone; no GNU time needed.
_WRAPPER = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc.returncode)
sys.stderr.write(rc.stderr[-3000:] if rc.returncode else "")
"""


def _timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (GiB) and exit code of the command."""
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    sys.stderr.write(proc.stderr)
    wall, rss_kb, rc = proc.stdout.split()
    return float(wall), int(rss_kb) / 2**20, int(rc)


def _outcome(results_file: Path) -> str:
    """What the cold run produced: each lever's status and score, and the recommendation."""
    if not results_file.exists():
        return "no results.json"
    results = json.loads(results_file.read_text())
    levers = ", ".join(f"{lev['name']} {lev['score']['mean']:.3f}" if lev["status"] == "ok"
                       else f"{lev['name']} {lev['status']}" for lev in results["levers"])
    rec = results.get("recommendation") or {}
    seconds = ", ".join(f"{k.removeprefix('lever_')} {v:.0f}" for k, v in (results.get("timings") or {}).items()
                        if k.startswith("lever_") or k == "total")  # the warm rerun rewrites results.json
    return f"cold run: {levers}; recommended {rec.get('lever')} ({rec.get('confidence')}); seconds: {seconds}"


def _checkout(rev: str, where: Path) -> Path:
    """A worktree of `rev` whose advisor package finds its own templates and rubrics (run with PYTHONPATH=it)."""
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(where), rev], check=True,
                   capture_output=True)
    for name in ("templates", "rubrics"):
        (where / "advisor" / name).symlink_to(where / name)
    return where


def run(quick: bool) -> list[Row]:
    """Cold then warm on this checkout; with ADVISE_BENCH_BEFORE=REV (`run.py --before REV`) first a cold run of
    that revision, on the same machine in the same benchmark run: the before/after line."""
    from advisor.backends.models import cache_root

    advise = str(Path(sys.executable).parent / "advise")
    cached = any((cache_root() / "models").glob("smollm2-*/config.json"))
    before = os.environ.get("ADVISE_BENCH_BEFORE")
    keep = os.environ.get("ADVISE_BENCH_KEEP")  # `run.py --keep DIR`: the run folders stay there, to look into
    with (contextlib.nullcontext(keep) if keep else tempfile.TemporaryDirectory()) as tmp:
        out = Path(tmp) / "run"
        args = ["compare", str(MAIN_EXAMPLE), "--out", str(out)] + (["--limit", "8"] if quick else [])
        rows = []
        if before:
            tree = _checkout(before, Path(tmp) / "before")
            try:
                load = load_now()
                b_out = Path(tmp) / "run-before"
                b_args = [a if a != str(out) else str(b_out) for a in args]
                log(f"end to end: {before} cold ({' '.join(b_args)})")
                env = {**os.environ, "PYTHONPATH": str(tree)}  # run in the tree: `-m` puts the cwd first on sys.path
                b_s, b_rss, b_rc = _timed([sys.executable, "-m", "advisor.cli", *b_args], env=env, cwd=tree)
                if any((b_out / "cache").glob("embeddings-*.jsonl")):
                    raise RuntimeError(f"the {before} run wrote this checkout's embedding cache: it ran the new code")
                b_outcome = _outcome(b_out / "results.json")
            finally:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)
        results = {}
        for label in ("cold", "warm"):
            load = load_now()
            log(f"end to end: {label} ({' '.join(args)})")
            results[label] = _timed([advise, *args]) + (load,)
            if label == "cold":
                outcome = _outcome(out / "results.json")
        (cold_s, cold_rss, cold_rc, cold_load), (warm_s, warm_rss, warm_rc, warm_load) = results["cold"], results["warm"]
    note = "dequantized model already cached" if cached else "includes dequantizing the model"
    if before:
        rows.append(Row("end to end", f"advise compare handbook-qa cold: this checkout vs {before}, s",
                        f"{cold_s:.1f}", f"{b_s:.1f} ({before})", ratio(b_s, cold_s),
                        f"exit codes {cold_rc}/{b_rc}; {load}"))
        rows.append(Row("end to end", f"peak RSS cold, GiB: this checkout vs {before}", f"{cold_rss:.2f}",
                        f"{b_rss:.2f} ({before})", "", f"{before}: {b_outcome}"))
    rows.append(Row("end to end", "advise compare handbook-qa: cold vs warm wall time, s", f"{warm_s:.1f} (warm)",
                    f"{cold_s:.1f} (cold)", ratio(cold_s, warm_s),
                    f"cold: fresh --out, {note}; exit codes {cold_rc}/{warm_rc}; {cold_load} / {warm_load}"
                    + ("; --limit 8" if quick else "")))
    rows.append(Row("end to end", "peak RSS, GiB", f"{warm_rss:.2f} (warm)", f"{cold_rss:.2f} (cold)", "", outcome))
    return rows
