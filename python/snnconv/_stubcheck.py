"""Checks the hand-written stubs ``_core.pyi`` against the compiled ``snnconv._core``.

Run ``python -m snnconv._stubcheck``: exits 1 and lists the differences when a public
class, function, method, property or attribute is in one and not the other, when a
property is stubbed as a method (or the reverse), or when parameter names (and which
parameters have defaults) differ from the compiled ``__text_signature__``.
"""

from __future__ import annotations

import ast
import inspect
import sys
import types
from pathlib import Path
from typing import Any

__all__ = ["differences", "main"]

_STUB = Path(__file__).with_name("_core.pyi")


def _public(name: str) -> bool:
    return not name.startswith("_")


def _decorators(fn: ast.FunctionDef) -> set[str]:
    return {d.id for d in fn.decorator_list if isinstance(d, ast.Name)}


def _stub_params(fn: ast.FunctionDef, *, bound: bool) -> list[tuple[str, bool]]:
    """(name, has default) of each parameter, without self/cls when `bound`."""
    a = fn.args
    positional = a.posonlyargs + a.args
    n_default = len(a.defaults)
    out = [(p.arg, i >= len(positional) - n_default) for i, p in enumerate(positional)]
    out += [(p.arg, d is not None) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)]
    if bound and out and out[0][0] in ("self", "cls"):
        out = out[1:]
    return out


def _compiled_params(obj: Any) -> list[tuple[str, bool]] | None:
    """Parameter names and defaults from the compiled text signature, or None when
    the object has none."""
    if getattr(obj, "__text_signature__", None) is None:
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [
        (p.name, p.default is not inspect.Parameter.empty)
        for p in sig.parameters.values()
        if p.name not in ("self", "cls", "$self", "$cls")
    ]


def _compare_params(where: str, stub: list[tuple[str, bool]], obj: Any, out: list[str]) -> None:
    compiled = _compiled_params(obj)
    if compiled is not None and compiled != stub:
        out.append(f"{where}: parameters {stub} in the stub, {compiled} compiled")


def _check_class(node: ast.ClassDef, cls: type, out: list[str]) -> None:
    name = node.name
    stub_members: dict[str, ast.AST] = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            stub_members[item.name] = item
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            stub_members[item.target.id] = item
    own = vars(cls)
    for m in sorted(n for n in own if _public(n)):
        if m not in stub_members:
            out.append(f"{name}.{m}: compiled, missing from the stub")
    for m, item in stub_members.items():
        if m == "__init__":
            assert isinstance(item, ast.FunctionDef)
            _compare_params(f"{name}.__init__", _stub_params(item, bound=True), cls, out)
            continue
        if m not in own:
            out.append(f"{name}.{m}: in the stub, not compiled")
            continue
        member = own[m]
        is_property = isinstance(member, (types.GetSetDescriptorType, property))
        if isinstance(item, ast.AnnAssign):
            if not is_property:
                out.append(f"{name}.{m}: an attribute in the stub, a method compiled")
            continue
        assert isinstance(item, ast.FunctionDef)
        decorators = _decorators(item)
        if ("property" in decorators) != is_property:
            kind = "a property" if is_property else "a method"
            out.append(f"{name}.{m}: stub and compiled disagree ({kind} compiled)")
            continue
        if is_property:
            continue
        static = "staticmethod" in decorators
        if static != isinstance(member, staticmethod):
            out.append(f"{name}.{m}: staticmethod in only one of stub and compiled")
        bound = not static
        _compare_params(f"{name}.{m}", _stub_params(item, bound=bound), getattr(cls, m), out)


def differences(module: types.ModuleType | None = None, stub: Path = _STUB) -> list[str]:
    """Every difference between the compiled module and the stub, one line each."""
    if module is None:
        from snnconv import _core as module
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    stubbed: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stubbed[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stubbed[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    stubbed[t.id] = node
    out: list[str] = []
    compiled = {n for n in vars(module) if _public(n)} | {"__version__"}
    for n in sorted(compiled - {k for k in stubbed if _public(k) or k == "__version__"}):
        out.append(f"{n}: compiled, missing from the stub")
    for n, node in stubbed.items():
        if not (_public(n) or n == "__version__"):
            continue  # private helpers of the stub (type aliases)
        if not hasattr(module, n):
            out.append(f"{n}: in the stub, not compiled")
            continue
        obj = getattr(module, n)
        if isinstance(node, ast.ClassDef):
            if not isinstance(obj, type):
                out.append(f"{n}: a class in the stub, not compiled as one")
            else:
                _check_class(node, obj, out)
        elif isinstance(node, ast.FunctionDef):
            if not callable(obj) or isinstance(obj, type):
                out.append(f"{n}: a function in the stub, not compiled as one")
            else:
                _compare_params(n, _stub_params(node, bound=False), obj, out)
    return out


def main() -> int:
    diffs = differences()
    for d in diffs:
        print(d)
    if diffs:
        print(f"{len(diffs)} difference(s) between snnconv._core and {_STUB.name}")
        return 1
    print(f"snnconv._core matches {_STUB.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
