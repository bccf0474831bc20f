"""Shared helpers for the thin entry scripts in tools/."""

import argparse
import sys
from typing import Callable

from .errors import TinyEcgError


def run_main(main: Callable[[], int | None]) -> None:
    """Run an entry point; turn expected failures into one line and exit code 2.

    Why: users of a regulated toolchain want a message naming the problem, not
    a traceback. Unexpected exceptions still show their traceback (they are bugs).
    """
    try:
        code = main()
    except TinyEcgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)


def positive(kind):
    """argparse type: a number of `kind` (int, float) greater than 0."""
    def conv(s):
        try:
            v = kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {s}") from None
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {s}")
        return v
    return conv
