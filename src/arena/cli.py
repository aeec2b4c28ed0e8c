"""The `arena` command: start exercises, check them, read hints, track progress, open the site."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.syntax import Syntax
from rich.table import Table

from arena.catalog import Part, UnknownPart, all_parts, chapters, get_part
from arena.checker import (
    ERROR,
    FAILED,
    PASSED,
    Result,
    UsageError,
    Worker,
    exercise_names,
    run_in_workers,
    validate_file,
)
from arena.report import ICONS, LABELS, STYLES, indent, shows_message, summary_line

app = typer.Typer(
    help="A hands-on course in ML engineering and interpretability.\n\n"
    "Typical loop: `arena serve` to read a part, `arena start 0.1` to get your exercise file, "
    "edit it, `arena check 0.1` (or `arena watch 0.1`) until everything passes.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

PartArg = Annotated[str, typer.Argument(help="Part id, e.g. 0.1 (see `arena list`).", show_default=False,
                                        metavar="PART")]
NameArg = Annotated[str, typer.Argument(help="Exercise name, e.g. make_rays_1d (see the lesson or `arena progress`).",
                                        show_default=False, metavar="NAME")]
FileOpt = Annotated[Path | None, typer.Option("--file", "-f", help="Your exercise file (default: the one "
                                              "`arena start` wrote under ./workspace).", show_default=False)]


def _part(part_id: str) -> Part:
    try:
        return get_part(part_id)
    except UnknownPart as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None


def _workspace_root(here: Path) -> Path:
    """The folder `arena start` was run from: the parent of an enclosing `workspace` folder, else `here`."""
    for folder in (here, *here.parents):
        if folder.name == "workspace":
            return folder.parent
    return here


def _find_workspace_file(part: Part) -> Path | None:
    """The learner's existing exercise file for a part, from wherever they stand: under the current
    folder or one above it, the current folder itself (inside the part's workspace), or where
    `arena start` last wrote it."""
    from arena.progress import known_workspace

    here = Path.cwd()
    candidates = [folder / part.workspace_relpath for folder in (here, *here.parents)]
    if here.name == part.path.name:
        candidates.insert(0, here / "exercises.py")
    remembered = known_workspace(part.id)
    if remembered is not None:
        candidates.append(remembered)
    return next((c for c in candidates if c.is_file()), None)


def _default_file(part: Part, file: Path | None) -> Path:
    if file is not None:
        return file
    return _find_workspace_file(part) or _workspace_root(Path.cwd()) / part.workspace_relpath


def _checked_file(part: Part, file: Path | None) -> Path:
    """The file to check; a usage error (exit 2, one line) unless it is an existing .py file."""
    path = _default_file(part, file)
    try:
        validate_file(part, path, _find_workspace_file(part) if file is not None and not path.exists() else None)
    except UsageError as e:
        err.print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(2) from None
    return path


def _warn(message: str) -> None:
    err.print(f"[yellow]Warning: {message}[/yellow]", highlight=False)


def _use_cli_warnings() -> None:
    import arena.progress

    arena.progress.warn = _warn


def _status_cell(status: str | None) -> str:
    return f"{ICONS[status]} [{STYLES[status]}]{LABELS[status]}[/]" if status else "· not checked"


@app.command("list")
def list_parts() -> None:
    """List chapters and parts, with how many exercises you have passed."""
    from arena.progress import passed_count

    _use_cli_warnings()
    table = Table(title="The course", show_lines=False)
    for column in ("part", "title", "exercises passed"):
        table.add_column(column)
    for chapter in chapters():
        table.add_row(f"[bold]{chapter.number}[/bold]", f"[bold]{chapter.title}[/bold]", "")
        for part in chapter.parts:
            names = exercise_names(part)
            table.add_row(part.id, part.title, f"{passed_count(part.id, names)}/{len(names)}")
    out.print(table)


@app.command()
def start(part_id: PartArg,
          force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file "
                                              "(the old one is kept as exercises.py.bak).")] = False,
          file: FileOpt = None) -> None:
    """Write your exercise file for a part (never overwrites your work without --force)."""
    from arena.progress import remember_workspace
    from arena.stubs import make_stub_module

    _use_cli_warnings()
    part = _part(part_id)
    path = _default_file(part, file)
    if path.is_dir():
        err.print(f"[red]{path} is a directory; give --file the path of a .py file.[/red]")
        raise typer.Exit(2)
    if path.exists() and not force:
        err.print(f"[yellow]{path} already exists, so it was left untouched (your work is safe).[/yellow]\n"
                  f"Check it with `arena check {part.id}`; to start over, `arena start {part.id} --force`.")
        raise typer.Exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        out.print(f"Kept your previous file as {path.name}.bak")
    path.write_text(make_stub_module(part), encoding="utf-8")
    remember_workspace(part.id, path)
    out.print(f"Wrote [bold]{path}[/bold] with {len(exercise_names(part))} exercises for {part.id} {part.title}.\n"
              f"Open it in your editor, read the lesson with `arena serve`, then run `arena check {part.id}`.")


def _print_result(result: Result) -> None:
    out.print(f"{ICONS[result.status]} [bold]{result.exercise}[/bold] "
              f"[{STYLES[result.status]}]{LABELS[result.status]}[/] [dim]({result.seconds:.2f} s)[/dim]")
    if shows_message(result):
        out.print(f"   {result.message}", highlight=False, markup=False)
    if result.output:
        out.print(indent(result.output, "   │ "), style="dim", highlight=False, markup=False)


def _names(part: Part, only: list[str] | None) -> list[str]:
    try:
        return exercise_names(part, only)
    except UsageError as e:
        err.print(f"[red]{e}[/red]", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def check(part_id: PartArg, file: FileOpt = None,
          only: Annotated[list[str] | None, typer.Option("--only", "-o", help="Check only this exercise "
                                                         "(repeat for several).", show_default=False)] = None,
          as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per exercise.")] = False) -> None:
    """Check your exercises and say precisely what is wrong.

    Example: `arena check 0.1 --only make_rays_1d`. Exit code 0: every checked exercise passes;
    1: some fail or are not implemented yet; 2: usage error (unknown part or exercise, not a .py file)."""
    from arena.progress import record_results

    _use_cli_warnings()
    part = _part(part_id)
    path = _checked_file(part, file)
    names = _names(part, only)
    worker = Worker(part)  # torch and the checks load while the rest is set up
    if not as_json:
        out.print(f"[dim]Checking {path} against part {part.id} {part.title}[/dim]")

    def show(result: Result) -> None:
        if as_json:
            print(json.dumps(result.to_json()), flush=True)
        else:
            _print_result(result)

    results, worker = run_in_workers(part, path.resolve(), names, show, worker)
    if worker is not None:
        worker.close()
    record_results(part.id, results)
    if not as_json:
        out.print(summary_line(results))
    raise typer.Exit(0 if all(r.status == PASSED for r in results) else 1)


def _print_changes(previous: dict[str, Result], results: list[Result]) -> None:
    """After the first run, `arena watch` shows what changed and what still fails."""
    changed = [r for r in results if r.exercise not in previous
               or (previous[r.exercise].status, previous[r.exercise].message) != (r.status, r.message)]
    still = [r.exercise for r in results if r not in changed and r.status in (FAILED, ERROR)]
    if not changed:
        out.print("[dim]No change in any result.[/dim]")
    if still:
        out.print(f"[red]Still failing:[/red] {', '.join(still)}", highlight=False)


@app.command()
def watch(part_id: PartArg, file: FileOpt = None,
          only: Annotated[list[str] | None, typer.Option("--only", "-o", help="Watch only this exercise.",
                                                         show_default=False)] = None) -> None:
    """Re-run the checks every time you save your file (Ctrl+C to stop).

    One worker stays warm (torch and the part's checks are loaded once; your file is re-imported on each
    save). After the first run only what changed is shown, then what still fails and a summary. A passing
    exercise is not re-checked while the code it uses is unchanged (comments do not count); saving the
    file without any edit re-checks everything."""
    from watchfiles import watch as watch_changes

    from arena.changes import declared_learner_names, fingerprints, unchanged
    from arena.progress import record_results

    _use_cli_warnings()
    part = _part(part_id)
    path = _checked_file(part, file).resolve()
    names = _names(part, only)
    worker: Worker | None = Worker(part)
    checks = part.path / "checks.py"
    uses = declared_learner_names(checks.read_text(encoding="utf-8")) if checks.is_file() else {}
    previous: dict[str, Result] | None = None
    checked_source, checked_prints = None, None
    try:
        while True:
            stamp = _mtime(path)
            out.rule(f"{part.id} {part.title} · {time.strftime('%H:%M:%S')}")
            source = _read_text(path)
            if source is None:
                err.print(f"[red]{path} is gone; waiting for it to come back…[/red]")
            else:
                before = previous

                def show(result: Result, before: dict[str, Result] | None = before) -> None:
                    old = before.get(result.exercise) if before is not None else None
                    if before is None or old is None or (old.status, old.message) != (result.status, result.message):
                        _print_result(result)

                prints = fingerprints(source, names, path, uses)
                kept = _kept_results(previous, unchanged(checked_prints, prints) if source != checked_source else set())
                rerun = [n for n in names if n not in kept]
                checked, worker = run_in_workers(part, path, rerun, show, worker) if rerun else ([], worker)
                if worker is None:  # after a crash or a hang: a fresh worker warms up while you edit
                    worker = Worker(part)
                record_results(part.id, checked)
                fresh = {r.exercise: r for r in checked}
                results = [fresh.get(n) or kept[n] for n in names]
                if previous is not None:
                    _print_changes(previous, results)
                if kept:
                    out.print(f"[dim]Kept {len(kept)} passing result{'s' * (len(kept) != 1)} (code unchanged; save "
                              "without editing to re-check all).[/dim]")
                previous = {r.exercise: r for r in results}
                checked_source, checked_prints = source, prints
                out.print(summary_line(results))
            out.print(f"[dim]Watching {path.name} for changes… (Ctrl+C to stop)[/dim]")
            # The timeout lets a save made while the checks ran (before watching began) be noticed too.
            for changes in watch_changes(path.parent, debounce=300, step=30, rust_timeout=1000,
                                         yield_on_timeout=True, watch_filter=lambda _, p: Path(p) == path):
                if changes or _mtime(path) != stamp:
                    break
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    finally:
        if worker is not None:
            worker.close()


def _kept_results(previous: dict[str, Result] | None, same_code: set[str]) -> dict[str, Result]:
    """The previous passing results of the exercises whose code did not change."""
    if previous is None:
        return {}
    return {n: r for n, r in previous.items() if n in same_code and r.status == PASSED}


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:  # editors that save by delete-and-rename
        return -1


def _exercise_or_exit(part: Part, name: str):
    from arena.lesson import load_lesson

    try:
        return load_lesson(part).exercise(name)
    except KeyError as e:
        err.print(f"[red]{e.args[0]}[/red]")
        raise typer.Exit(2) from None


@app.command()
def hint(part_id: PartArg, name: NameArg,
         show_all: Annotated[bool, typer.Option("--all", "-a", help="Show every hint at once.")] = False,
         level: Annotated[int, typer.Option("--level", "-n", help="Show the first N hints, gentlest first.",
                                            show_default=False)] = 0) -> None:
    """Show the next hint for one exercise: one more each time you ask, gentle to concrete (`--all` for all)."""
    from arena.lesson import load_lesson
    from arena.progress import hints_seen, set_hints_seen

    _use_cli_warnings()
    part = _part(part_id)
    _exercise_or_exit(part, name)
    hints = load_lesson(part).hints(name)
    if not hints:
        out.print(f"{name} has no hints; `arena solution {part.id} {name}` shows the reference solution.")
        return
    if show_all or level > 0:
        first, last = 1, len(hints) if show_all else min(level, len(hints))
    else:
        first = last = min(hints_seen(part.id, name) + 1, len(hints))
    for i in range(first, last + 1):
        out.rule(f"Hint {i} of {len(hints)} · {name}")
        out.print(Markdown(hints[i - 1]))
    set_hints_seen(part.id, name, max(last, hints_seen(part.id, name)))
    if last < len(hints):
        out.print(f"[dim]Stuck still? `arena hint {part.id} {name}` again shows hint {last + 1}; "
                  f"`--all` shows every hint.[/dim]")
    else:
        out.print(f"[dim]That was the last hint. `arena solution {part.id} {name}` shows the reference "
                  "solution.[/dim]")


@app.command()
def solution(part_id: PartArg, name: NameArg) -> None:
    """Show the reference solution of one exercise, with notes."""
    from arena.lesson import load_lesson
    from arena.stubs import SolutionsFile

    part = _part(part_id)
    _exercise_or_exit(part, name)
    out.print(Syntax(SolutionsFile(part.solutions_path).solution(name), "python", theme="ansi_dark"))
    note = load_lesson(part).solution_note(name)
    if note:
        out.print(Markdown(note))


@app.command()
def notebook(part_id: PartArg,
             solutions: Annotated[bool, typer.Option("--solutions", help="Fill in the reference solutions.")] = False,
             output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the .ipynb.",
                                                         show_default=False)] = None,
             force: Annotated[bool, typer.Option("--force", help="Overwrite an existing notebook.")] = False) -> None:
    """Write the part as a Jupyter notebook (lesson, exercise cells and one-line checks)."""
    from arena.notebook import write_notebook

    part = _part(part_id)
    suffix = "_solutions" if solutions else ""
    path = output or Path.cwd() / "workspace" / part.chapter.path.name / f"{part.path.name}{suffix}.ipynb"
    if path.exists() and not force:
        err.print(f"[yellow]{path} already exists and was left untouched; use --force to overwrite it.[/yellow]")
        raise typer.Exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(part, path, solutions=solutions)
    out.print(f"Wrote {path}. Open it with `jupyter lab {path}` (or VS Code).")


@app.command()
def progress(part_id: Annotated[str | None, typer.Argument(help="Only this part, e.g. 0.2 (default: every part).",
                                                           show_default=False, metavar="[PART]")] = None) -> None:
    """Show the latest check result of every exercise (of every part, or of one)."""
    from arena.progress import latest

    _use_cli_warnings()
    parts = [_part(part_id)] if part_id else all_parts()
    for part in parts:
        states = latest(part.id)
        table = Table(title=f"{part.id} {part.title}", title_justify="left")
        table.add_column("exercise")
        table.add_column("status")
        table.add_column("last checked")
        for name in exercise_names(part):
            s = states.get(name)
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.checked_at)) if s else ""
            table.add_row(name, _status_cell(s.status if s else None), when)
        out.print(table)


@app.command()
def reset(part_id: PartArg,
          yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False) -> None:
    """Forget your stored check results for one part (your exercise file is not touched)."""
    from arena.progress import forget

    _use_cli_warnings()
    part = _part(part_id)
    if not yes and not typer.confirm(f"Forget every check result of {part.id} {part.title}?"):
        raise typer.Exit(1)
    out.print(f"Forgot {forget(part.id)} stored result(s) of {part.id}. Your exercise file is unchanged.")


@app.command()
def serve(port: Annotated[int, typer.Option(help="Port for the site.")] = 8501,
          host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 makes the site reachable "
                                            "from other machines.")] = "127.0.0.1",
          browser: Annotated[bool, typer.Option(help="Open a browser tab.")] = True) -> None:
    """Open the course site in your browser (Streamlit, on this machine only unless --host is given)."""
    main = Path(__file__).parent / "app" / "main.py"
    # Headless always: otherwise Streamlit's first run stops to ask for an e-mail address on stdin.
    command = [sys.executable, "-m", "streamlit", "run", str(main), "--server.port", str(port),
               "--server.address", host, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer"]
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0', '::') else host}:{port}"
    out.print(f"Starting the course site at {url} (Ctrl+C to stop)…")
    proc = subprocess.Popen(command)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        if browser and _wait_until_up(url, proc):
            webbrowser.open(url)
        raise typer.Exit(proc.wait())
    except KeyboardInterrupt:
        proc.terminate()
        raise typer.Exit(proc.wait()) from None


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return True
        except OSError:
            time.sleep(0.5)
    return False


@app.command()
def bench(part_id: PartArg, file: FileOpt = None,
          threads: Annotated[int, typer.Option(help="CPU threads for torch and numpy; 1 (the lesson's setting) "
                                               "gives the steadiest numbers on a small machine.")] = 1) -> None:
    """Time your implementations (and the reference solutions) against the libraries they imitate."""
    import torch
    from threadpoolctl import threadpool_limits

    from arena.bench import compare_benchmarks, load_bench_with
    from arena.worker import describe_import_error, load_learner_module

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    part = _part(part_id)
    module = part.module("bench")
    if module is None:
        err.print(f"[yellow]Part {part.id} has no benchmarks.[/yellow]")
        raise typer.Exit(2)
    path = _checked_file(part, file) if file is not None else _find_workspace_file(part)
    yours, note = None, ""
    if path is None:
        note = (f"No exercise file of yours was found for {part.id}, so only the reference solutions are timed "
                f"(`arena start {part.id}`, or --file).")
    else:
        try:
            yours = load_bench_with(part, load_learner_module(path.resolve())).BENCHMARKS
        except BaseException as e:  # noqa: BLE001 - the learner's file may not import
            note = describe_import_error(path, e) + " Only the reference solutions were timed."
    wide = out if out.is_terminal else Console(width=1000, soft_wrap=True)  # piped: never cut the table
    title = (f"{part.id} {part.title}: {'yours and ' if yours else ''}the reference vs the library, one run, "
             f"{torch.get_num_threads()} CPU thread(s)")
    table = Table(title=title, title_justify="left")
    table.add_column("benchmark", no_wrap=True)
    columns = (["yours (ms)"] if yours else []) + ["reference (ms)", "library (ms)",
                                                   "yours / library" if yours else "reference / library"]
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("library", no_wrap=True, overflow="ellipsis", max_width=40 if out.is_terminal else None)
    with out.status("Timing…"):
        rows = compare_benchmarks(module.BENCHMARKS, yours)
    for r in rows:
        mine = [f"{r.yours_ms:.2f}" if r.yours_ms is not None else r.yours_note] if yours else []
        base = r.yours_ms if yours else r.reference_ms
        ratio = f"{base / r.library_ms:.1f}×" if base is not None else "—"
        table.add_row(r.name, *mine, f"{r.reference_ms:.2f}", f"{r.library_ms:.2f}", ratio, r.library_name)
    wide.print(table)
    if path is not None and yours:
        out.print(f"[dim]Yours: {path}[/dim]", highlight=False)
    if note:
        out.print(f"[yellow]{note}[/yellow]", highlight=False)
    out.print("[dim]Ratios above 1 mean the from-scratch version is slower. Timings on a busy machine are noisy: "
              "rerun before quoting a number.[/dim]")


@app.command()
def fetch(name: Annotated[str, typer.Argument(help="mnist, cifar10, resnet34 or gpt2.")]) -> None:
    """Download a dataset or pretrained weights into the course cache (needs the internet)."""
    from arena.resources import FETCHERS, ResourceUnavailable

    if name not in FETCHERS:
        err.print(f"[red]Unknown resource {name!r}. Known: {', '.join(FETCHERS)}.[/red]")
        raise typer.Exit(2)
    try:
        with out.status(f"Fetching {name}…"):
            FETCHERS[name]()
    except ResourceUnavailable as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    out.print(f"[green]{name} is ready.[/green]")


@app.command()
def models() -> None:
    """The models the course ships (chapter 1), with what each is for."""
    from arena.zoo import registry

    for name, model in registry().items():
        out.print(f"[bold]{name}[/bold] ({model.kind}): {model.description}")
    out.print("[dim]gpt2: GPT-2 small, after `arena fetch gpt2` (online, once).[/dim]")


@app.command()
def train(name: Annotated[str, typer.Argument(help="A shipped model's name; `arena models` lists them.")],
          out_dir: Annotated[Path | None, typer.Option("--out", help="Where to write the weights and card "
                                                        "(default: a new folder in the course cache).")] = None,
          steps: Annotated[int | None, typer.Option(help="Stop after this many steps (a short trial run).")] = None,
          ) -> None:
    """Re-run the training that made a shipped model, with a progress bar (the shipped files stay untouched)."""
    from arena.resources import cache_dir
    from arena.zoo import UnknownModel, train_function

    try:
        fn = train_function(name)
    except UnknownModel as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    target = out_dir or cache_dir() / "trained" / name
    target.mkdir(parents=True, exist_ok=True)
    metrics = fn(target, steps=steps)
    out.print(f"[green]Wrote {name} to {target}.[/green] " + ", ".join(f"{k}={v}" for k, v in (metrics or {}).items()))


if __name__ == "__main__":
    app()
