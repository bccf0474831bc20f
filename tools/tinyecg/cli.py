"""Shared helpers for the thin entry scripts in tools/."""

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
