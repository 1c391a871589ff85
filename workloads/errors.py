"""The one error type for bad user input.

It lives in the lowest layer (``workloads``) so that every layer can raise it; the CLI catches it,
prints its one-line message and exits with status 2, without a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a config file, a key, a value or a command-line argument.

    The message is a single line that names the file (when there is one), the dotted key, the
    offending value and what is allowed.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        parts = []
        if source:
            parts.append(str(source))
        if key:
            parts.append(key)
        prefix = ": ".join(parts)
        self.source = source
        self.key = key
        self.bare_message = message
        super().__init__(f"{prefix}: {message}" if prefix else message)
