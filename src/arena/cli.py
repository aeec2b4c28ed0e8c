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
from arena.checker import PASSED, Result, UsageError, check_file, exercise_names
from arena.report import ICONS, LABELS, STYLES, shows_message, summary_line

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


def _default_file(part: Part, file: Path | None) -> Path:
    return file if file is not None else Path.cwd() / part.workspace_relpath


def _status_cell(status: str | None) -> str:
    return f"{ICONS[status]} [{STYLES[status]}]{LABELS[status]}[/]" if status else "· not checked"


@app.command("list")
def list_parts() -> None:
    """List chapters and parts, with how many exercises you have passed."""
    from arena.progress import passed_count

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
    from arena.stubs import make_stub_module

    part = _part(part_id)
    path = _default_file(part, file)
    if path.exists() and not force:
        err.print(f"[yellow]{path} already exists, so it was left untouched (your work is safe).[/yellow]\n"
                  f"Check it with `arena check {part.id}`; to start over, `arena start {part.id} --force`.")
        raise typer.Exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        out.print(f"Kept your previous file as {path.name}.bak")
    path.write_text(make_stub_module(part), encoding="utf-8")
    out.print(f"Wrote [bold]{path}[/bold] with {len(exercise_names(part))} exercises for {part.id} {part.title}.\n"
              f"Open it in your editor, read the lesson with `arena serve`, then run `arena check {part.id}`.")


def _print_result(result: Result) -> None:
    out.print(f"{ICONS[result.status]} [bold]{result.exercise}[/bold] "
              f"[{STYLES[result.status]}]{LABELS[result.status]}[/] [dim]({result.seconds:.2f} s)[/dim]")
    if shows_message(result):
        out.print(f"   {result.message}", highlight=False, markup=False)


def _run_checks(part: Part, path: Path, only: list[str] | None, as_json: bool) -> list[Result]:
    from arena.progress import record_results

    def show(result: Result) -> None:
        if as_json:
            print(json.dumps(result.to_json()), flush=True)
        else:
            _print_result(result)

    try:
        results = check_file(part, path, only, on_result=show)
    except UsageError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    record_results(part.id, results)
    return results


@app.command()
def check(part_id: PartArg, file: FileOpt = None,
          only: Annotated[list[str] | None, typer.Option("--only", "-o", help="Check only this exercise "
                                                         "(repeat for several).", show_default=False)] = None,
          as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per exercise.")] = False) -> None:
    """Check your exercises and say precisely what is wrong.

    Example: `arena check 0.1 --only make_rays_1d`. Exit code 0: every checked exercise passes;
    1: some fail or are not implemented yet; 2: usage error (unknown part or exercise, missing file)."""
    part = _part(part_id)
    path = _default_file(part, file)
    if not as_json:
        out.print(f"[dim]Checking {path} against part {part.id} {part.title}[/dim]")
    results = _run_checks(part, path, only, as_json)
    if not as_json:
        out.print(summary_line(results))
    raise typer.Exit(0 if all(r.status == PASSED for r in results) else 1)


@app.command()
def watch(part_id: PartArg, file: FileOpt = None,
          only: Annotated[list[str] | None, typer.Option("--only", "-o", help="Watch only this exercise.",
                                                         show_default=False)] = None) -> None:
    """Re-run the checks every time you save your file (Ctrl+C to stop)."""
    from watchfiles import watch as watch_changes

    part = _part(part_id)
    path = _default_file(part, file).resolve()
    if not path.exists():
        err.print(f"[red]{path} does not exist. Create it with `arena start {part.id}`.[/red]")
        raise typer.Exit(2)
    while True:
        stamp = _mtime(path)
        out.rule(f"{part.id} {part.title} · {time.strftime('%H:%M:%S')}")
        results = _run_checks(part, path, only, as_json=False)
        out.print(summary_line(results))
        out.print(f"[dim]Watching {path.name} for changes… (Ctrl+C to stop)[/dim]")
        try:
            # The timeout lets a save made while the checks ran (before watching began) be noticed too.
            for changes in watch_changes(path, debounce=300, rust_timeout=1000, yield_on_timeout=True):
                if changes or _mtime(path) != stamp:
                    break
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


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
         level: Annotated[int, typer.Option("--level", "-n", help="How many hints to show, gentlest first "
                                            "(0 = all).")] = 0) -> None:
    """Show the hints for one exercise, from gentle to concrete."""
    from arena.lesson import load_lesson

    part = _part(part_id)
    _exercise_or_exit(part, name)
    hints = load_lesson(part).hints(name)
    shown = hints if level <= 0 else hints[:level]
    for i, text in enumerate(shown, 1):
        out.rule(f"Hint {i} of {len(hints)} · {name}")
        out.print(Markdown(text))


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
def progress() -> None:
    """Show the latest check result of every exercise."""
    from arena.progress import latest

    for part in all_parts():
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

    part = _part(part_id)
    if not yes and not typer.confirm(f"Forget every check result of {part.id} {part.title}?"):
        raise typer.Exit(1)
    out.print(f"Forgot {forget(part.id)} stored result(s) of {part.id}. Your exercise file is unchanged.")


@app.command()
def serve(port: Annotated[int, typer.Option(help="Port for the site.")] = 8501,
          browser: Annotated[bool, typer.Option(help="Open a browser tab.")] = True) -> None:
    """Open the course site in your browser (Streamlit)."""
    main = Path(__file__).parent / "app" / "main.py"
    # Headless always: otherwise Streamlit's first run stops to ask for an e-mail address on stdin.
    command = [sys.executable, "-m", "streamlit", "run", str(main), "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "viewer"]
    url = f"http://localhost:{port}"
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
def bench(part_id: PartArg,
          threads: Annotated[int, typer.Option(help="CPU threads for torch and numpy; 1 gives the steadiest "
                                               "numbers on a small machine.")] = 1) -> None:
    """Time the part's from-scratch implementations against the libraries they imitate."""
    import torch
    from threadpoolctl import threadpool_limits

    from arena.bench import run_benchmarks

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    part = _part(part_id)
    module = part.module("bench")
    if module is None:
        err.print(f"[yellow]Part {part.id} has no benchmarks.[/yellow]")
        raise typer.Exit(2)
    table = Table(title=f"{part.id} {part.title}: from scratch vs library, one run, "
                        f"{torch.get_num_threads()} CPU thread(s)", title_justify="left")
    table.add_column("benchmark", no_wrap=True)
    for column in ("ours (ms)", "library (ms)", "ours / library"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("library", no_wrap=True, overflow="ellipsis", max_width=40)
    with out.status("Timing…"):
        timings = run_benchmarks(module.BENCHMARKS)
    for t in timings:
        table.add_row(t.name, f"{t.ours_ms:.2f}", f"{t.library_ms:.2f}", f"{t.ratio:.1f}×", t.library_name)
    out.print(table)
    out.print("[dim]Ratios above 1 mean the from-scratch version is slower. Timings on a busy machine are noisy: "
              "rerun before quoting a number.[/dim]")


@app.command()
def fetch(name: Annotated[str, typer.Argument(help="mnist, cifar10 or resnet34.")]) -> None:
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


if __name__ == "__main__":
    app()
