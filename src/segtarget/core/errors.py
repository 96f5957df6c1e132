"""Error types whose message is shown to the user as a single line.

Every stage script runs through :func:`segtarget.core.cli.main`, which turns these into
``error: <message>`` on stderr and exit status 2. The message must name the file,
column or parameter at fault and what was expected, because it is all the user sees.
"""


class SegtargetError(Exception):
    """An error caused by the user's input or parameters (not a bug)."""


class ParamError(SegtargetError):
    """A value in params.yaml is missing, unknown or out of range."""


class InputError(SegtargetError):
    """An input file is missing, empty or has the wrong columns or types."""
