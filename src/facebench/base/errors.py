"""The one error base class for problems a user can fix (bad argument, config, input file).

Every command's top-level handler turns a :class:`UserError` into one line on stderr and exit
status :data:`EXIT_BAD_INPUT`; anything else is a bug and keeps its traceback under ``--debug``.
"""

from __future__ import annotations

#: Exit statuses shared by every ``facebench`` command.
EXIT_OK = 0
EXIT_ITEMS_FAILED = 1
EXIT_BAD_INPUT = 2


class UserError(Exception):
    """A problem the user can fix; its message is one line naming the file or value at fault."""

    exit_code: int = EXIT_BAD_INPUT
