"""End to end: `advise compare` on the main example (README), cold (fresh run folder) then warm (same folder)."""
from __future__ import annotations

import json
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


def _timed(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (GiB) and exit code of the command."""
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True)
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
    return f"cold run: {levers}; recommended {rec.get('lever')} ({rec.get('confidence')})"


def run(quick: bool) -> list[Row]:
    from advisor.backends.models import cache_root

    advise = str(Path(sys.executable).parent / "advise")
    cached = any((cache_root() / "models").glob("smollm2-*/config.json"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [advise, "compare", str(MAIN_EXAMPLE), "--out", str(out)] + (["--limit", "8"] if quick else [])
        rows = []
        results = {}
        for label in ("cold", "warm"):
            load = load_now()
            log(f"end to end: {label} ({' '.join(cmd[1:])})")
            results[label] = _timed(cmd) + (load,)
            if label == "cold":
                outcome = _outcome(out / "results.json")
        (cold_s, cold_rss, cold_rc, cold_load), (warm_s, warm_rss, warm_rc, warm_load) = results["cold"], results["warm"]
    note = "dequantized model already cached" if cached else "includes dequantizing the model"
    rows.append(Row("end to end", "advise compare handbook-qa: cold vs warm wall time, s", f"{warm_s:.1f} (warm)",
                    f"{cold_s:.1f} (cold)", ratio(cold_s, warm_s),
                    f"cold: fresh --out, {note}; exit codes {cold_rc}/{warm_rc}; {cold_load} / {warm_load}"
                    + ("; --limit 8" if quick else "")))
    rows.append(Row("end to end", "peak RSS, GiB", f"{warm_rss:.2f} (warm)", f"{cold_rss:.2f} (cold)", "", outcome))
    return rows
