"""The public API: what ``gridmap`` exports exists, and every public function carries type hints."""

import importlib
import inspect
import pkgutil

import pytest

import gridmap


def public_modules():
    """Every module of the package that declares ``__all__`` (the command line is click's, not an API)."""
    names = [info.name for info in pkgutil.walk_packages(gridmap.__path__, "gridmap.")]
    modules = [importlib.import_module(name) for name in ["gridmap", *names] if ".cli" not in name]
    return [module for module in modules if hasattr(module, "__all__")]


def public_callables(module):
    """(qualified name, function) of the functions and methods ``module`` defines and lists in ``__all__``."""
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isfunction(value) and value.__module__ == module.__name__:
            yield name, value
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for attribute, member in vars(value).items():
                function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                public = attribute == "__init__" or not attribute.startswith("_")
                if inspect.isfunction(function) and public:
                    yield f"{name}.{attribute}", function


def missing_hints(function) -> list[str]:
    signature = inspect.signature(function)
    missing = [name for name, parameter in signature.parameters.items()
               if name not in ("self", "cls") and parameter.annotation is inspect.Parameter.empty]
    if signature.return_annotation is inspect.Signature.empty and function.__name__ != "__init__":
        missing.append("return")
    return missing


@pytest.mark.parametrize("module", public_modules(), ids=lambda module: module.__name__)
def test_every_public_function_has_type_hints(module):
    unhinted = {name: missing for name, function in public_callables(module)
                if (missing := missing_hints(function))}
    assert not unhinted, f"{module.__name__}: parameters without type hints: {unhinted}"


def test_everything_listed_in_all_exists():
    for module in public_modules():
        absent = [name for name in module.__all__ if not hasattr(module, name)]
        assert not absent, f"{module.__name__}.__all__ lists {absent}, which it does not define"


def test_the_top_level_api_names_the_main_jobs():
    for name in ("read_layer", "build_grids", "check", "Registry", "read_cases", "summarize", "load_sample"):
        assert name in gridmap.__all__ and callable(getattr(gridmap, name))
    assert {"maps", "cases", "stats", "codes", "crs"} <= set(gridmap.__all__)
