"""What every ``listen`` command shares: one-line errors, warnings, the front door."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from service.config import Settings
from service.errors import ListenError, TooLargeError

if TYPE_CHECKING:
    from service.library import Library

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, exit_code: int) -> NoReturn:
    """Print one error line on stderr and exit with ``exit_code``."""
    click.echo(f"listen: error: {message}", err=True)
    sys.exit(exit_code)


def reports_errors(command: F) -> F:
    """Turn named errors into one line on stderr and the error's exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ListenError as error:
            fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def warn(message: str | None) -> None:
    """Print a warning that does not stop the command, if there is one."""
    if message:
        click.echo(f"listen: {message}", err=True)


def library_of(settings: Settings) -> Library:
    """Return the front door for ``settings`` (nothing is opened until it is used)."""
    from service.library import Library

    return Library(settings)


def read_limited(file: str, limit_bytes: int) -> bytes:
    """Read FILE (or standard input for '-') whole, refusing more than ``limit_bytes``."""
    try:
        if file == "-":
            data = sys.stdin.buffer.read(limit_bytes + 1)
        else:
            with open(file, "rb") as opened:
                data = opened.read(limit_bytes + 1)
    except FileNotFoundError:
        raise ListenError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise ListenError(f"{file} is a folder; give a file") from None
    except OSError as error:
        raise ListenError(f"{file}: {error.strerror or error}") from None
    if len(data) > limit_bytes:
        raise TooLargeError(f"{file} is larger than {limit_bytes} bytes (LISTEN_MAX_INPUT_BYTES)")
    return data
