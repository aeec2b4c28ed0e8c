"""Which exercises a save can have changed: what lets `arena watch` keep a passing result it need not redo.

Every exercise gets a fingerprint of the code its result depends on, read from the file's syntax tree
(no import, no torch): its own definition, every function or class of the file it names (followed
transitively), and everything at the top level of the file that is not a definition (imports,
constants, settings such as a default dtype). Comments, blank lines and `if __name__ == "__main__":`
blocks do not count. When a fingerprint is unchanged and the exercise passed, its result still holds.

It errs towards re-checking: a definition that reaches the module dynamically (`globals()`, `eval`,
`__name__`, ...) depends on the whole file, and other Python files in the same folder (which the file
may import) count as top-level code."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

# Names through which a function can reach any global of its module without naming it.
DYNAMIC_NAMES = frozenset({"globals", "vars", "locals", "eval", "exec", "__import__", "__name__", "importlib",
                           "sys", "inspect"})

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _is_main_block(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":` (never run when the checker imports the file)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    sides = [test.left, *test.comparators]
    return (len(sides) == 2 and isinstance(test.ops[0], ast.Eq)
            and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _names_used(nodes: Iterable[ast.AST]) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _folder_state(path: Path) -> str:
    """Size and modification time of the other Python files beside the learner's file."""
    try:
        siblings = sorted(p for p in path.parent.glob("*.py") if p.resolve() != path.resolve())
        return _digest(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in siblings)
    except OSError:
        return "unreadable"


def declared_learner_names(checks_source: str) -> dict[str, set[str]]:
    """Exercise -> the names its check declares with `@uses_learner("Tensor", ...)` in a part's checks.py
    (read from the syntax tree: the light CLI never imports checks, which import torch)."""
    declared: dict[str, set[str]] = {}
    for node in ast.parse(checks_source).body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("check_"):
            continue
        for decorator in node.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else None
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name == "uses_learner":
                declared.setdefault(node.name.removeprefix("check_"), set()).update(
                    arg.value for arg in decorator.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return declared


def fingerprints(source: str, names: Iterable[str], path: Path | None = None,
                 uses: dict[str, set[str]] | None = None) -> dict[str, str] | None:
    """A fingerprint per exercise name (missing from the file: a fingerprint of its absence), or None when
    the source does not parse (then every check must run: each reports the syntax error). `uses`: the other
    names each exercise's check reads from the learner's file (`declared_learner_names`)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    definitions: dict[str, list[Definition]] = {}
    top_level: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, Definition):
            definitions.setdefault(node.name, []).append(node)
        elif not _is_main_block(node):
            top_level.append(node)
    dumps = {name: [ast.dump(d) for d in defs] for name, defs in definitions.items()}
    refs = {name: _names_used(defs) for name, defs in definitions.items()}

    def closure(*start: str) -> list[str]:
        seen, todo = set(), list(start)
        while todo:
            current = todo.pop()
            if current in seen or current not in definitions:
                continue
            seen.add(current)
            todo.extend(refs[current])
        return sorted(seen)

    # Top-level code, and the definitions it uses (an object built at import time from a class of the file).
    shared = _digest([*(ast.dump(n) for n in top_level), _folder_state(path) if path is not None else "",
                      *(d for n in closure(*_names_used(top_level)) for d in dumps[n])])
    result = {}
    for name in names:
        reached = closure(name, *(uses or {}).get(name, ()))
        if any(refs[n] & DYNAMIC_NAMES for n in reached):
            result[name] = _digest([shared, ast.dump(tree)])
        else:
            result[name] = _digest([shared, *(f"{n}={d}" for n in reached for d in dumps[n])])
    return result


def unchanged(before: dict[str, str] | None, after: dict[str, str] | None) -> set[str]:
    """The exercises whose fingerprint is the same in both versions."""
    if before is None or after is None:
        return set()
    return {name for name, value in after.items() if before.get(name) == value}
