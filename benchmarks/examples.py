"""Rerun every shipped example on the default model and fail when a recommendation changes.

    python benchmarks/examples.py [NAME ...]

Each run goes to runs/examples/<name>/; results.json and report.md are copied to examples/<name>/measured/
(the evidence the example READMEs quote and tests/test_examples.py re-decides). Slow: minutes per example."""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from advisor.cli import RichReporter  # noqa: E402
from advisor.compare import compare  # noqa: E402


def main(names: list[str]) -> int:
    expected = json.loads((ROOT / "examples" / "expected.json").read_text())
    failures = []
    for name in names or sorted(expected):
        t0 = time.perf_counter()
        out = ROOT / "runs" / "examples" / name
        results = compare(ROOT / "examples" / name / "task.yaml", out=out, reporter=RichReporter())
        measured = ROOT / "examples" / name / "measured"
        measured.mkdir(exist_ok=True)
        for f in ("results.json", "report.md"):
            shutil.copy(out / f, measured / f)
        got = results["recommendation"]["lever"]
        line = " | ".join(f"{lev['name']} {lev['score']['mean']:.3f} [{lev['score']['ci_low']:.3f}, "
                          f"{lev['score']['ci_high']:.3f}]" if lev["status"] == "ok" else f"{lev['name']} skipped"
                          for lev in results["levers"])
        print(f"{name}: recommend {got} ({results['recommendation']['confidence']}), expected {expected[name]}; "
              f"{line}; {time.perf_counter() - t0:.0f} s", flush=True)
        if got != expected[name]:
            failures.append(name)
    if failures:
        print(f"recommendation changed on: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
