"""Global options, read and set like ``jax.config``.

>>> from fungrad import config
>>> config.update("explain_cache_misses", True)
>>> config.explain_cache_misses
True
>>> config.update("explain_cache_misses", False)

Every option can also be set by an environment variable ``FUNGRAD_<NAME>`` (upper case).
"""
from __future__ import annotations

import os
from typing import Any


class Config:
    """The option values, as attributes; change them with ``update``."""

    explain_cache_misses: bool
    jit_cache_size: int
    jit_optimize: bool

    def __init__(self) -> None:
        self._docs: dict[str, str] = {}

    def define(self, name: str, default: Any, doc: str) -> None:
        """Declare an option (for modules that need one of their own)."""
        env = os.environ.get("FUNGRAD_" + name.upper())
        value = default if env is None else _parse(env, type(default))
        self._docs[name] = doc
        object.__setattr__(self, name, value)

    def update(self, name: str, value: Any) -> None:
        """Set option ``name``; an unknown name is an ``AttributeError`` listing the known ones."""
        if name not in self._docs:
            raise AttributeError(f"unknown fungrad option {name!r}; the options are "
                                 f"{', '.join(sorted(self._docs))}")
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self.update(name, value)

    def __getattr__(self, name: str) -> Any:  # options defined elsewhere with ``define``
        raise AttributeError(f"unknown fungrad option {name!r}")

    def options(self) -> dict[str, str]:
        """The known options and what they do."""
        return dict(self._docs)


def _parse(text: str, kind: type) -> Any:
    if kind is bool:
        return text.strip().lower() not in ("", "0", "false", "no", "off")
    return kind(text)


config = Config()
config.define("explain_cache_misses", False,
              "log (logger 'fungrad.jit') why each jit retrace happened")
config.define("jit_cache_size", 64, "traces kept per jitted function (least recently used go)")
config.define("jit_optimize", True, "run the jaxpr passes (dce, cse, folding, simplification)")
config.define("eager_linearize", True,
              "without jit, linearize common primitives in one step (same jaxpr, less overhead)")
