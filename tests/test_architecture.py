"""The rules of docs/architecture.md that a reader of the code can check: which way imports run,
nothing loaded by a string, and no underscore attribute of a dependency.

Read from the source with `ast` (nothing is imported), over every module of the four packages.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("workflows", "engine", "notifications", "api")
# What each package may import of the project (docs/architecture.md, "Rooms"):
# workflows ◀ engine ◀ notifications ◀ api.
MAY_IMPORT = {
    "workflows": {"workflows"},
    "engine": {"workflows", "engine"},
    "notifications": {"workflows", "engine", "notifications"},
    "api": {"workflows", "engine", "notifications", "api"},
}
CLI = "api.cli"
# Rooms that only the CLI (and tests) use: nothing else in the four packages imports them.
LEAVES = ("engine.demo", "engine.importing")
# `module:attribute`, the form uvicorn, setuptools and others load a project object from.
IMPORT_STRING = re.compile(rf"^({'|'.join(PACKAGES)})(\.\w+)*:\w+$")


def modules() -> dict[str, ast.Module]:
    """Each module by its dotted name; a package's `__init__` as `package.__init__`."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


def imported(name: str, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every module `name` imports, anywhere in it (`from a import b` names `a` and `a.b`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one level up per extra dot
                anchor = name.split(".")[:-node.level]
                base = ".".join(anchor + ([base] if base else []))
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def within(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def test_imports_run_one_way() -> None:
    wrong = []
    for name, tree in modules().items():
        own = name.partition(".")[0]
        for line, target in imported(name, tree):
            top = target.partition(".")[0]
            if top in MAY_IMPORT and top not in MAY_IMPORT[own]:
                wrong.append(f"{name}:{line} imports {target}: {own} may import only {sorted(MAY_IMPORT[own])}")
            if within(target, CLI) and not within(name, CLI):
                wrong.append(f"{name}:{line} imports {target}: nothing imports the CLI but its entry point")
            for leaf in LEAVES:
                if within(target, leaf) and not (within(name, leaf) or within(name, CLI)):
                    wrong.append(f"{name}:{line} imports {target}: only the CLI uses {leaf}")
    assert not wrong, "\n".join(wrong)


def test_the_cli_is_the_entry_point() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"accord": f"{CLI}:app"}


def test_nothing_is_loaded_by_a_string() -> None:
    found = []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if called in ("import_module", "__import__", "spec_from_file_location", "module_from_spec"):
                    found.append(f"{name}:{node.lineno} calls {called}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and IMPORT_STRING.match(node.value):
                found.append(f"{name}:{node.lineno} names {node.value!r}: import it instead")
            elif isinstance(node, ast.Import | ast.ImportFrom) and any(
                    (getattr(node, "module", None) or alias.name).startswith("importlib") for alias in node.names):
                found.append(f"{name}:{node.lineno} imports importlib")
    assert not found, "\n".join(found)


# Public despite the underscore: SQLAlchemy's `Row` follows the named tuple's convention and
# documents `Row._mapping`, `Row._asdict()`, `Row._fields`, `Row._t` and `Row._tuple()` as its API.
PUBLIC_UNDERSCORE = {"_mapping", "_asdict", "_fields", "_t", "_tuple"}


def own_names(trees: list[ast.Module]) -> set[str]:
    """Every name the project itself defines: functions, classes, assigned names and attributes."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias) and node.asname:
                names.add(node.asname)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def test_no_underscore_attribute_of_a_dependency() -> None:
    """`grep -rnE "\\._[a-z]+\\(|_sa_|__dict__\\.update|instance_state\\(" engine api notifications workflows`,
    read by `ast`, without the project's own underscore names."""
    trees = modules()
    own = own_names(list(trees.values()))
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Attribute):
                if node.attr == "update" and isinstance(node.value, ast.Attribute) and node.value.attr == "__dict__":
                    text = "__dict__.update"
                elif (node.attr.startswith("_") and not node.attr.endswith("__") and node.attr not in own
                      and node.attr not in PUBLIC_UNDERSCORE) or "_sa_" in node.attr:
                    text = f".{node.attr}"
            elif isinstance(node, ast.ImportFrom) and node.module not in (None, "__future__") and not node.level \
                    and node.module.partition(".")[0] not in PACKAGES:
                private = [a.name for a in node.names if a.name.startswith("_")]
                private += [node.module] if any(p.startswith("_") for p in node.module.split(".")) else []
                text = ", ".join(private) or None
            elif isinstance(node, ast.Name) and node.id == "instance_state":
                text = "instance_state"
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "_sa_" in node.value:
                text = repr(node.value)
            if text:
                found.append(f"{name}:{getattr(node, 'lineno', 0)} {text}")
    assert not found, "\n".join(found)


# The engine's errors (engine/errors.py), by their names as the code raises them.
ERRORS = {"AccordError", "NotFound", "NotPermitted", "TransitionNotAllowed", "Conflict", "StaleVersion",
          "AmendmentConflict", "PreconditionFailed", "GuardFailed", "InvalidInput", "TooLarge", "UnsupportedType"}


def typed_text(node: ast.expr) -> bool:
    """Whether `node` is a sentence typed where it stands — a literal, an f-string, or one added to
    or formatted into text — rather than one of the catalogs (`gettext(...) % {...}`) or a value."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):  # "a" + b, "a %s" % b: the left side says whose words they are
        return typed_text(node.left)
    if isinstance(node, ast.IfExp):
        return typed_text(node.body) or typed_text(node.orelse)
    return False


def test_every_error_says_its_detail_in_the_readers_language() -> None:
    """An error's `detail` is a sentence of the catalogs, written in the language being read where
    it is raised (engine/i18n.py), and each error records that language (`AccordError.language`):
    a detail typed in English would be shown to a French reader as if it were French. What a
    `*_refusal` function returns (a why-not the pages show) is held to the same rule."""
    typed = []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                given = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "detail")]
                if called in ERRORS and any(typed_text(arg) for arg in given):
                    typed.append(f"{name}:{node.lineno} {called}")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.endswith("_refusal"):
                typed += [f"{name}:{inner.lineno} {node.name}" for inner in ast.walk(node)
                          if isinstance(inner, ast.Return) and inner.value is not None and typed_text(inner.value)]
    assert not typed, f"write these with i18n.gettext(...) % {{...}}: {typed}"
