"""The one error type for bad user input.

It lives in the lowest layer (``workloads``) so that every layer can raise it; the CLI catches it,
prints its one-line message and exits with status 2, without a traceback.
"""

from __future__ import annotations

MAX_MESSAGE_CHARS = 600  # a message (its values are already capped by show_value) never floods a terminal
MAX_NAME_CHARS = 160  # file names and keys in messages


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (newlines and control characters escaped), cut to ``limit`` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: 4 * limit])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show_value(value: object, limit: int = 60) -> str:
    """A bounded repr of a user value for error messages: nested or huge values cost O(limit), never
    the full repr (a YAML alias bomb expands to gigabytes)."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxtuple, r.maxdict, r.maxset = 2, 4, 4, 4, 4
    r.maxstring, r.maxother, r.maxlong = limit, limit, 40
    return one_line(r.repr(value), limit)


class EnvironmentFault(OSError):
    """Not the input's fault: the disk is full, a file system is read-only, memory ran out.

    The CLI prints it as one line and exits with status 1 (status 2 is bad input)."""


class InputError(ValueError):
    """Bad user input: a config file, a key, a value or a command-line argument.

    The message is a single line that names the file (when there is one), the dotted key, the
    offending value and what is allowed.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        message = one_line(message, MAX_MESSAGE_CHARS)
        source = one_line(str(source), MAX_NAME_CHARS) if source else source
        key = one_line(str(key), MAX_NAME_CHARS) if key else key
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
