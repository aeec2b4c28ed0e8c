"""How results look in a terminal or notebook."""

from __future__ import annotations

from arena.checker import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, Result

ICONS = {PASSED: "✅", FAILED: "❌", NOT_IMPLEMENTED: "⬜", ERROR: "💥"}
LABELS = {PASSED: "passed", FAILED: "failed", NOT_IMPLEMENTED: "not implemented", ERROR: "error"}
STYLES = {PASSED: "green", FAILED: "red", NOT_IMPLEMENTED: "dim", ERROR: "magenta"}


def shows_message(result: Result) -> bool:
    """Whether the message adds anything to the status line (a failure, an error or a success note)."""
    return not (result.status == NOT_IMPLEMENTED or (result.status == PASSED and result.message == "passed"))


def indent(text: str, prefix: str = "   ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def format_result(result: Result) -> str:
    """One plain-text line (plus the message, and the tail of the learner's output on failure)."""
    head = f"{ICONS[result.status]} {result.exercise}: {LABELS[result.status]} ({result.seconds:.2f} s)"
    if shows_message(result):
        head += f"\n   {result.message}"
    if result.output:
        head += "\n" + indent(result.output, "   │ ")
    return head


def summary_line(results: list[Result]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in LABELS}
    parts = [f"{counts[s]} {LABELS[s]}" for s in (PASSED, FAILED, ERROR, NOT_IMPLEMENTED) if counts[s]]
    return f"{counts[PASSED]}/{len(results)} exercises pass — " + ", ".join(parts)
