"""`advise`: click + rich only; every command is load -> run -> render. User errors exit 2 on one line, all of them
caught in one place (`_OneLineErrors.invoke`); anything else is a bug and keeps its traceback."""
from __future__ import annotations

import errno
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .errors import UserError, printable, shown
from .levers import registry
from .progress import Reporter

console = Console(stderr=True, soft_wrap=True)


class RichReporter(Reporter):
    """Progress bars for every long stage (one at a time, cleared lines kept as a log)."""

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator:
        columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
        if not console.is_terminal:  # logs and CI: say what started, the bar's final state says when it ended
            console.print(f"{escape(description)} ...", highlight=False)
        with Progress(*columns, console=console, transient=False) as progress:
            task_id = progress.add_task(escape(description), total=total, info="")

            class _Stage:
                def advance(self, n: int = 1, **fields: object) -> None:
                    info = escape(" ".join(f"{k}={v}" for k, v in fields.items()))
                    progress.update(task_id, advance=n, **({"info": info} if info else {}))

            yield _Stage()

    def note(self, message: str) -> None:
        console.print(f"[dim]{escape(message)}[/dim]", highlight=False)


def _levers_option(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise click.BadParameter("names no lever; give e.g. prompt,retrieval (or leave it out for all)")
    return names


class _NonEmptyPath(click.Path):
    """click.Path that refuses an empty string (pathlib reads '' as '.', the current folder)."""

    def __init__(self) -> None:
        super().__init__(path_type=Path)

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and not value.strip():
            self.fail("is an empty path", param, ctx)
        return super().convert(value, param, ctx)


class _Minutes(click.FloatRange):
    """A positive, finite number of minutes (click's FloatRange lets nan and inf through)."""

    def __init__(self) -> None:
        super().__init__(min=0, min_open=True)

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        minutes = super().convert(value, param, ctx)
        if not math.isfinite(minutes):
            self.fail(f"must be a finite number of minutes, got {value!r}", param, ctx)
        return minutes


class _Score(click.FloatRange):
    """A score threshold in [0, 1] (click's FloatRange lets nan through)."""

    name = "score"

    def __init__(self) -> None:
        super().__init__(min=0, max=1)

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        score = super().convert(value, param, ctx)
        if not math.isfinite(score):
            self.fail(f"must be a score from 0 to 1, got {value!r}", param, ctx)
        return score


_FAIL_UNDER_HELP = ("CI gate: exit 3 when the recommended lever's mean eval score (0-1, the point estimate, not its "
                    "interval) is below SCORE; a score equal to SCORE passes. Everything is written first.")
_JUNIT_HELP = ("Also write JUnit XML here for CI: a test case per lever, per lever and criterion, and the "
               "recommendation (a failed --fail-under fails the recommended lever's case).")


GATE_FAILED = 3  # exit codes: 0 ok, 1 a bug (traceback), 2 bad input (one line), 3 a CI gate failed


def _gate_failed(message: str) -> None:
    """A CI gate (--fail-under, --fail-on-regression) did not pass: say why on one line and exit 3."""
    console.print(f"[red]gate failed:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise SystemExit(GATE_FAILED)


def _gate(results: dict, fail_under: float | None, junit: Path | None) -> None:
    """After a run is written: the JUnit file (if asked), then the --fail-under verdict (exit 3 when it fails)."""
    from .gate import check_fail_under, junit_cases

    verdict = check_fail_under(results, fail_under) if fail_under is not None else None
    if junit is not None:
        from .junit import write_junit

        write_junit(junit, str(results["task"]["name"]), junit_cases(results, verdict))
        console.print(f"junit: {escape(str(junit))}", highlight=False)
    if verdict is not None and not verdict.passed:
        _gate_failed(verdict.message)
    if verdict is not None:
        console.print(f"[green]gate passed:[/green] {escape(verdict.message)}", highlight=False, soft_wrap=True)


def _print_error(err: UserError) -> None:
    console.print(f"[red]error:[/red] {escape(str(err))}", highlight=False, soft_wrap=True)


class _UserFailure(click.ClickException):
    """A UserError on its way out: click prints it (one line) and exits with code 2."""

    exit_code = 2

    def __init__(self, err: UserError):
        from .spec import pinpoint

        self.user_error = pinpoint(err)
        super().__init__(str(self.user_error))

    def show(self, file: object = None) -> None:
        _print_error(self.user_error)


class _OneLineUsageError(click.UsageError):
    """A click usage error (bad option value, unknown option) shown on one line like every other user error."""

    def __init__(self, err: click.UsageError):
        where, message = None, err.format_message()
        if isinstance(err, click.BadParameter) and not isinstance(err, click.MissingParameter) and err.param:
            where = err.param.opts[0] if isinstance(err.param, click.Option) else err.param.human_readable_name
            message = err.message
        command = err.ctx.command_path if err.ctx else "advise"
        self.user_error = UserError(None, where, message, f"see `{command} --help`")
        super().__init__(str(self.user_error), err.ctx)

    def show(self, file: object = None) -> None:
        _print_error(self.user_error)


_HELP_ERRORS = tuple(e for e in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if e)


class _OneLineErrors:
    """Mixin for click commands and groups: usage errors become `_OneLineUsageError`, and a UserError raised by any
    command becomes its one line and exit code 2 here, so no command needs its own try/except."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except UserError as err:
            raise _UserFailure(err) from None

    def make_context(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().make_context(*args, **kwargs)  # type: ignore[misc]
        except click.UsageError as err:
            if isinstance(err, (_OneLineUsageError, *_HELP_ERRORS)):
                raise
            raise _OneLineUsageError(err) from None

    def resolve_command(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().resolve_command(*args, **kwargs)  # type: ignore[misc]
        except click.UsageError as err:
            raise _OneLineUsageError(err) from None


class _Command(_OneLineErrors, click.Command):
    pass


class _Group(_OneLineErrors, click.Group):
    command_class = _Command


def _text(value: object) -> str:
    """Text from a file (a results.json from anywhere) for the terminal: markup and control characters escaped."""
    return escape(printable(str(value)))


def summary_table(results: dict) -> Table:
    rec = results["recommendation"]
    table = Table(title=f"{_text(results['task']['name'])}: recommend [bold]{_text(rec['lever'])}[/bold] "
                        f"({_text(rec['confidence'])})")
    for col in ("lever", "score [95% CI]", "in/out tokens per call", "s per call", "$ per 1k calls", "one-off s"):
        table.add_column(col, justify="left" if col == "lever" else "right")
    for lev in results["levers"]:
        if lev["status"] != "ok":
            table.add_row(_text(lev["name"]), "skipped", "", "", "", "")  # the reason is among the reasons below
            continue
        s, c = lev["score"], lev["cost"]
        cost = c.get("cost_per_1k_calls")
        table.add_row(_text(lev["name"]) + (" *" if lev["name"] == rec["lever"] else ""),
                      f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]",
                      f"{c['input_tokens_per_call']:.0f} / {c['output_tokens_per_call']:.0f}",
                      f"{c['seconds_per_call']:.2f}", "" if cost is None else f"{cost:.4f}",
                      f"{c['train_seconds'] + c['index_seconds']:.0f}")
    base = (results.get("baselines") or {}).get("majority_class")
    if base:
        table.add_row("majority class", f"{base['score']:.3f} (always {escape(shown(base['label']))})", "", "", "", "")
    return table


def grid_table(results: dict) -> Table:
    """The model x lever grid on the terminal: one row per cell, the recommended one starred, the Pareto front
    marked."""
    grid, rec = results["grid"], results["recommendation"]
    front = set(grid["pareto"])
    table = Table(title=f"{_text(results['task']['name'])}: recommend [bold]{_text(rec['lever'])}[/bold] on "
                        f"[bold]{_text(rec.get('model'))}[/bold] ({_text(rec['confidence'])})")
    for col in ("model", "lever", "score [95% CI]", "$ per 1k calls", "s per call", "one-off s", "Pareto"):
        table.add_column(col, justify="left" if col in ("model", "lever") else "right",
                         no_wrap=col in ("model", "lever"))
    for cell in grid["cells"]:
        if cell["status"] != "ok":
            table.add_row(_text(cell["model"]), _text(cell["lever"]), "skipped", "", "", "", "")
            continue
        s, c = cell["score"], cell["cost"]
        cost = c.get("cost_per_1k_calls")
        table.add_row(_text(cell["model"]), _text(cell["lever"]) + (" *" if cell["name"] == rec.get("cell") else ""),
                      f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]", "" if cost is None else f"{cost:.4f}",
                      f"{c['seconds_per_call']:.2f}", f"{c['train_seconds'] + c['index_seconds']:.0f}",
                      "yes" if cell["name"] in front else "")
    return table


def plan_table(model_plan) -> Table:  # type: ignore[no-untyped-def]
    """`compare --plan`: one row per lever, and the total."""
    cal = model_plan.calibration
    title = f"Plan for {_text(model_plan.model)}" + (f" ({_text(model_plan.label)})" if model_plan.label else "")
    if cal is not None:
        title += (f": {1 / cal.prefill:,.0f} prompt tok/s, {1 / cal.decode:,.0f} generated tok/s, "
                  f"{1 / cal.train:,.0f} training tok/s measured here in {cal.seconds:.0f} s")
    table = Table(title=title, title_justify="left")
    for col in ("lever", "generations", "prompt tokens", "training steps", "training tokens", "about"):
        table.add_column(col, justify="left" if col == "lever" else "right")
    total = 0.0
    for p in model_plan.levers:
        if p.status != "runs":
            table.add_row(p.lever, _text(p.status), "", "", "", "")
            continue
        total += p.minutes or 0.0
        table.add_row(p.lever, f"{p.generations:,}", f"{p.prompt_tokens:,.0f}", f"{p.train_steps:,}" if p.train_steps else "",
                      f"{p.train_tokens:,}" if p.train_tokens else "",
                      "endpoint: the server's speed" if p.minutes is None else f"{p.minutes:.1f} min")
    if cal is not None:
        table.add_row("total", "", "", "", "", f"{total:.1f} min")
    return table


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="advise")
def main() -> None:
    """Should we prompt it, give it retrieval, or fine-tune it? Benchmark the levers on your task."""
    _quiet_libraries()


def _quiet_libraries() -> None:
    """Our own progress bars replace the libraries' (tqdm weight loading) and their deprecation chatter."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft|sentence_transformers)\.")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@main.command()
@click.argument("task_file", type=_NonEmptyPath())
@click.option("--out", type=_NonEmptyPath(), help="Run folder (default runs/<task name>/).")
@click.option("--levers", callback=_levers_option, help=f"Comma-separated subset: {','.join(registry.names())}.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N eval examples (quick looks).")
@click.option("--seed", type=int, help="Override the task's seed.")
@click.option("--fresh", is_flag=True, help="Ignore caches in the run folder and recompute everything.")
@click.option("--max-train-minutes", type=_Minutes(),
              help="Safety net: stop each training run cleanly after this long; the adapter so far is evaluated "
                   "and the lever marked undertrained. Budgets that shape a score are steps (max_steps).")
@click.option("--fail-under", type=_Score(), help=_FAIL_UNDER_HELP)
@click.option("--junit", type=_NonEmptyPath(), help=_JUNIT_HELP)
@click.option("--plan", is_flag=True, help="Print each lever's planned work and estimated minutes (from a short "
                                           "calibration on this machine), then stop: nothing is run or written.")
def compare(task_file: Path, out: Path | None, levers: list[str] | None, limit: int | None, seed: int | None, fresh: bool,
            max_train_minutes: float | None, fail_under: float | None = None, junit: Path | None = None,
            plan: bool = False) -> None:
    """Benchmark the levers on TASK_FILE and write results.json and report.html.

    Exit codes: 0 done, 2 bad input, 3 the --fail-under gate failed (everything was written), 1 a bug."""
    from .compare import compare as run_compare

    if plan:
        from .plan import make_plan

        for model_plan in make_plan(task_file, levers, limit, seed, reporter=RichReporter()):
            console.print(plan_table(model_plan))
        return
    if junit is not None:
        from .gate import check_junit_path

        check_junit_path(junit)  # before any model work
    results = run_compare(task_file, out=out, levers=levers, limit=limit, seed=seed, fresh=fresh,
                          reporter=RichReporter(), max_train_minutes=max_train_minutes)
    out_dir = out or Path("runs") / results["task"]["name"]
    console.print(grid_table(results) if results.get("grid") else summary_table(results))
    for reason in results["recommendation"]["reasons"]:
        console.print(f"  - {_text(reason)}", highlight=False)
    _print_warnings(results["warnings"])
    console.print(f"report: {escape(str(out_dir / 'report.html'))}   results: {escape(str(out_dir / 'results.json'))}",
                  highlight=False)
    _gate(results, fail_under, junit)


def _print_warnings(warnings: list[dict]) -> None:
    for w in warnings:
        console.print(f"[yellow]warning[/yellow] {_text(w['code'])}: {_text(w['message'])}", highlight=False)


@main.command()
@click.argument("task_file", type=_NonEmptyPath())
def validate(task_file: Path) -> None:
    """Run every load-time check on TASK_FILE (no model work)."""
    from .compare import load

    loaded = load(task_file)
    console.print(f"[green]ok[/green] {escape(str(task_file))}: {len(loaded.train)} train, {len(loaded.eval)} eval, "
                  f"{len(loaded.corpus)} corpus documents, rubric {escape(shown(loaded.rubric.name))} "
                  f"({len(loaded.rubric.criteria)} criteria)", highlight=False)
    _print_warnings(loaded.warnings)


@main.command()
@click.argument("run_dir", type=_NonEmptyPath())
@click.option("--fail-under", type=_Score(), help=_FAIL_UNDER_HELP)
@click.option("--junit", type=_NonEmptyPath(), help=_JUNIT_HELP)
def report(run_dir: Path, fail_under: float | None = None, junit: Path | None = None) -> None:
    """Re-render report.html and report.md from RUN_DIR's results.json and predictions (and gate on them in CI with
    --fail-under / --junit, without recomputing)."""
    from .runs import read_predictions, read_results

    if junit is not None:
        from .gate import check_junit_path

        check_junit_path(junit)
    results = read_results(run_dir)  # every field the report reads is checked before anything is rendered
    predictions = read_predictions(run_dir, results)
    from .report import render_report  # matplotlib: imported once the inputs are known to be good

    html, md = render_report(results, predictions, run_dir)
    console.print(f"wrote {escape(str(html))} and {escape(str(md))}", highlight=False)
    _gate(results, fail_under, junit)


@main.command()
@click.argument("run_a", type=_NonEmptyPath())
@click.argument("run_b", type=_NonEmptyPath())
@click.option("--out", type=_NonEmptyPath(), help="Folder for diff.html, diff.md and diff.json (default: RUN_B).")
@click.option("--levers", callback=_levers_option,
              help="Comma-separated subset of levers to diff (and to gate on); Holm's correction covers only these.")
@click.option("--fail-on-regression", is_flag=True,
              help="CI gate: exit 3 when a lever ran in both runs is significantly worse in B (Holm-adjusted), after "
                   "everything is written.")
@click.option("--junit", type=_NonEmptyPath(),
              help="Also write JUnit XML here: a case per lever (failed when significantly worse in B, skipped when "
                   "not comparable) and per lever and criterion.")
def diff(run_a: Path, run_b: Path, out: Path | None, levers: list[str] | None, fail_on_regression: bool,
         junit: Path | None) -> None:
    """What changed from RUN_A to RUN_B: per lever, B - A on the shared eval ids (paired tests, Holm), the examples
    that flipped, setup changes and the recommendation. Exit codes: 0 done, 2 bad input, 3 --fail-on-regression
    found a lever significantly worse in B, 1 a bug."""
    from .diff import diff_runs
    from .diff_report import check_out, render_diff
    from .gate import check_junit_path
    from .runs import read_predictions, read_results

    a_results = read_results(run_a)  # both runs checked first: a missing or damaged one is named on one line
    a_predictions = read_predictions(run_a, a_results)
    b_results = read_results(run_b)
    b_predictions = read_predictions(run_b, b_results)
    out = run_b if out is None else out
    check_out(out)
    if junit is not None:
        check_junit_path(junit)
    result = diff_runs(a_results, a_predictions, b_results, b_predictions, a_dir=run_a, b_dir=run_b, levers=levers)
    if fail_on_regression and not result.compared():
        raise UserError(None, "--fail-on-regression", "no lever ran in both runs with scores on shared eval ids, so "
                        "there is nothing to gate", "diff runs of the same levers (see the lever notes without the "
                        "flag)")
    html, md, _ = render_diff(result, out)  # written first: a write error is then the only line printed
    _print_diff(result)
    console.print(f"wrote {escape(str(html))} and {escape(str(md))}", highlight=False)
    if junit is not None:
        from .diff_report import junit_cases
        from .junit import write_junit

        write_junit(junit, f"advise diff: {result.b.task}", junit_cases(result))
        console.print(f"junit: {escape(str(junit))}", highlight=False)
    if fail_on_regression:
        from .diff_report import regression_line

        if result.regressions():
            _gate_failed("; ".join(regression_line(lev) for lev in result.regressions()))
        console.print(f"[green]gate passed:[/green] no lever is significantly worse in B "
                      f"({len(result.compared())} compared)", highlight=False)


def _print_diff(d) -> None:  # type: ignore[no-untyped-def]
    """The diff on the terminal: a table per lever, the flipped ids, setup changes, the recommendation."""
    from rich import box

    from .diff_report import ids_text

    table = Table(title=f"{escape(d.a.task)}: run B - run A on shared eval ids", box=box.SIMPLE_HEAD, show_edge=False,
                  padding=(0, 1), pad_edge=False, collapse_padding=True,
                  caption="p: Holm-adjusted; n.s.: not significantly different; flips: pass->fail/fail->pass")
    for col in ("lever", "A", "B", "B - A", "95% CI", "p", "B is", "flips"):
        table.add_column(col, justify="left" if col in ("lever", "B is") else "right", no_wrap=True)
    for lev in d.levers:
        if lev.status != "compared":
            table.add_row(escape(lev.name), "", "", "", "", "", "-", "")  # not compared: why is below the table
            continue
        verdict = {"worse": "[red]worse[/red]", "better": "[green]better[/green]"}.get(str(lev.verdict), "n.s.")
        p = "<0.001" if lev.p_holm < 0.001 else f"{lev.p_holm:.3f}"
        table.add_row(escape(lev.name), f"{lev.a_mean:.3f}", f"{lev.b_mean:.3f}", f"{lev.diff:+.3f}",
                      f"[{lev.ci_low:+.3f}, {lev.ci_high:+.3f}]", p, verdict, f"{lev.n_regressed}/{lev.n_fixed}")
    console.print(table)
    for lev in d.levers:
        if lev.status != "compared":
            console.print(f"  {escape(lev.name)}: not compared: {escape(lev.note)}", highlight=False)
    for lev in d.compared():
        if lev.n_regressed:
            console.print(f"  {escape(lev.name)}: pass -> fail: {escape(ids_text(lev.regressed_ids, lev.n_regressed))}",
                          highlight=False)
        if lev.n_fixed:
            console.print(f"  {escape(lev.name)}: fail -> pass: {escape(ids_text(lev.fixed_ids, lev.n_fixed))}",
                          highlight=False)
    console.print(f"  eval ids: {d.n_shared_ids} in both runs, {d.n_only_a} only in A, {d.n_only_b} only in B",
                  highlight=False)
    if d.setup:
        console.print(f"  setup: {len(d.setup)} change{'s' if len(d.setup) != 1 else ''}", highlight=False)
        for c in d.setup[:20]:
            console.print(f"    {escape(c.field)}: {escape(_one_line(c.a))} -> {escape(_one_line(c.b))}", highlight=False)
        if len(d.setup) > 20:
            console.print(f"    ... and {len(d.setup) - 20} more (see diff.html)", highlight=False)
    else:
        console.print("  setup: unchanged", highlight=False)
    console.print(f"  {escape(d.recommendation.sentence())}", highlight=False)
    for w in d.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(w)}", highlight=False)


def _one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


@main.command()
@click.argument("run_dir", type=_NonEmptyPath())
@click.option("--to", "to", help="The new model: a local Hugging Face folder, a Hub id (org/name) or smollm2-135m "
                                 "(the bundled default), as `model:` accepts it.")
@click.option("--to-endpoint", help="Or an OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1); with --to-name.")
@click.option("--to-name", help="The model name the endpoint serves.")
@click.option("--to-weights", help="A folder or Hub id of the endpoint model's weights, to retrain adapters locally "
                                   "(without it, levers that train weights are not moved).")
@click.option("--to-api-key-env", help="NAME of the environment variable holding the endpoint's key.")
@click.option("--label", help="Short name of the new model (default: from --to or --to-name).")
@click.option("--out", type=_NonEmptyPath(), help="Folder for the new runs and upgrade.html/.md/.json "
                                                  "(default RUN_DIR/upgrade-<label>).")
@click.option("--task", "task_file", type=_NonEmptyPath(),
              help="The task.yaml the run was made from, if it moved (default: the path results.json records).")
@click.option("--levers", callback=_levers_option, help="Comma-separated subset of the run's levers to move.")
@click.option("--resume", is_flag=True, help="Keep what an interrupted upgrade into the same folder left (its "
                                             "measured costs then leave out the work done before).")
def upgrade(run_dir: Path, to: str | None, to_endpoint: str | None, to_name: str | None, to_weights: str | None,
            to_api_key_env: str | None, label: str | None, out: Path | None, task_file: Path | None,
            levers: list[str] | None, resume: bool) -> None:
    """The upgrade drill: move RUN_DIR's chosen configuration of every lever to a new model (as-is, and re-tuned
    on dev), pair old and new scores on the same eval ids, and price each move against the lever's monthly
    running cost (the lock-in table). Exit codes: 0 done, 2 bad input, 1 a bug."""
    from .upgrade import target_from_options, upgrade as run_upgrade
    from .upgrade_report import COLUMNS, render_upgrade, table_rows

    target = target_from_options(to, to_endpoint, to_name, to_weights, to_api_key_env, label)
    u = run_upgrade(run_dir, target, out=out, task_path=task_file, levers=levers, resume=resume,
                    reporter=RichReporter())
    html, md, _ = render_upgrade(u, Path(out) if out else run_dir / f"upgrade-{target.label}")
    table = Table(title=f"{_text(u['task'])}: {_text(u['old_model']['id'])} -> {_text(u['new_model']['id'])} "
                        f"(paired on {u['eval_size']} eval ids)")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("lever", "redone (as-is)", "lock-in") else "right")
    for row in table_rows(u):
        table.add_row(*(_text(row[c]) for c in COLUMNS))
    console.print(table)
    for note in u["decision_notes"]:
        console.print(f"  - {_text(note)}", highlight=False)
    for w in u["warnings"]:
        console.print(f"[yellow]warning[/yellow] {_text(w)}", highlight=False)
    console.print(f"wrote {escape(str(html))} and {escape(str(md))}", highlight=False)


@main.command()
@click.argument("directory", type=_NonEmptyPath())
def init(directory: Path) -> None:
    """Scaffold a working task folder (task.yaml + tiny data) in DIRECTORY to edit."""
    from .scaffold import scaffold

    _require_empty_folder(directory)
    written = scaffold(directory)
    console.print(f"wrote {escape(', '.join(str(p) for p in written))}", highlight=False)
    task = escape(str(directory / "task.yaml"))
    console.print(f"next: advise validate {task} && advise compare {task}", highlight=False)


def _require_empty_folder(directory: Path) -> None:
    """`advise init` writes task.yaml, data/ and docs/: into a new or empty folder only, never over a user's files
    (hidden entries such as .git do not count)."""
    try:
        entries = [p.name for p in directory.iterdir() if not p.name.startswith(".")] if directory.is_dir() else []
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            raise UserError(None, "DIRECTORY", f"is too long a path ({len(str(directory)):,} characters)",
                            "shorten the path") from None
        raise UserError(directory, None, f"cannot be listed: {err.strerror}", "choose a folder you can write to") from None
    if entries and "task.yaml" not in entries:  # with a task.yaml, scaffold says that one already exists
        raise UserError(directory, None, f"is not empty (it holds {shown(sorted(entries)[0], 40)}"
                        f"{f' and {len(entries) - 1} more' if len(entries) > 1 else ''})",
                        "choose a new or empty folder; advise init writes task.yaml, data/ and docs/ into it")


if __name__ == "__main__":
    main()
