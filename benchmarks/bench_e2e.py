"""End to end: `advise compare` on the support-tickets example, cold (fresh run folder) then warm (same folder)."""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from rows import TASK_FILE, Row, load_now, log, ratio


def _timed(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds and peak RSS (GiB) of the command, from GNU time -v."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-3000:])
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    h, m, s = (float(g or 0) for g in wall.groups())
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return h * 3600 + m * 60 + s, rss_kb / 2**20, proc.returncode


def run(quick: bool) -> list[Row]:
    from advisor.backends.models import cache_root

    advise = str(Path(sys.executable).parent / "advise")
    cached = any((cache_root() / "models").glob("smollm2-*/config.json"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [advise, "compare", str(TASK_FILE), "--out", str(out)] + (["--limit", "8"] if quick else [])
        rows = []
        results = {}
        for label in ("cold", "warm"):
            load = load_now()
            log(f"end to end: {label} ({' '.join(cmd[1:])})")
            results[label] = _timed(cmd) + (load,)
        (cold_s, cold_rss, cold_rc, cold_load), (warm_s, warm_rss, warm_rc, warm_load) = results["cold"], results["warm"]
    note = "dequantized model already cached" if cached else "includes dequantizing the model"
    rows.append(Row("end to end", "advise compare support-tickets: cold vs warm wall time, s", f"{warm_s:.1f} (warm)",
                    f"{cold_s:.1f} (cold)", ratio(cold_s, warm_s),
                    f"cold: fresh --out, {note}; exit codes {cold_rc}/{warm_rc}; {cold_load} / {warm_load}"
                    + ("; --limit 8" if quick else "")))
    rows.append(Row("end to end", "peak RSS, GiB", f"{warm_rss:.2f} (warm)", f"{cold_rss:.2f} (cold)", "", ""))
    return rows
