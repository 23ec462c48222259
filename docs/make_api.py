"""Writes docs/api.md from the docstrings of the public API.

Run from the repository root: `python docs/make_api.py`.
"""

import importlib
import inspect
import pathlib

MODULES = (
    "arbnet_keras",
    "arbnet_keras.hashing",
    "arbnet_keras.metrics",
    "arbnet_keras.models",
    "arbnet_keras.training",
    "arbnet_keras.datasets",
    "arbnet_keras.experiments",
    "arbnet_keras.tuning",
    "arbnet_keras.deploy",
    "arbnet_keras.saving",
)


def _entry(qualname, obj):
    lines = []
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = ""
    kind = "class" if inspect.isclass(obj) else "def"
    lines.append(f"### `{qualname}`\n")
    short = qualname.split(".")[-1]
    lines.append(f"```python\n{kind} {short}{signature}\n```\n")
    doc = inspect.getdoc(obj)
    if doc:
        lines.append(doc + "\n")
    return lines


def main():
    out = [
        "# API reference\n",
        "Generated from the docstrings by `python docs/make_api.py`; "
        "see `docs/concepts.md` for the definitions.\n",
    ]
    documented = set()
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            out.append(f"## `{name}`\n\nNot importable here: {error}\n")
            continue
        out.append(f"## `{name}`\n")
        if module.__doc__:
            out.append(inspect.cleandoc(module.__doc__) + "\n")
        for attr in sorted(getattr(module, "__all__", [])):
            obj = getattr(module, attr)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if id(obj) in documented:
                out.append(f"- `{name}.{attr}`: see above.\n")
                continue
            documented.add(id(obj))
            out.extend(_entry(f"{name}.{attr}", obj))
    path = pathlib.Path(__file__).parent / "api.md"
    path.write_text("\n".join(out))
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
