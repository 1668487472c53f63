"""Errors that the CLI turns into one clear line and exit code 2."""


class PyparityError(Exception):
    """A problem with the user's input (a file, a policy, a model): shown as one line, never a traceback."""


class TraceError(PyparityError):
    """A trace or reference dump that cannot be read, or that disagrees with its own index."""


class PolicyError(PyparityError):
    """A tolerance policy or mapping file that cannot be parsed."""


class ModelError(PyparityError):
    """A model file that is missing, corrupt or fails its checksum."""


class InputError(PyparityError):
    """An input image or data file that cannot be used (corrupt, unsupported depth, wrong shape)."""


class UsageError(PyparityError):
    """A request that cannot be carried out as asked (a stage filter that matches nothing, a value out
    of its range)."""


class OutputError(PyparityError, OSError):
    """An output (trace, report, TRC, golden, frame folder) that cannot be written. Also an OSError, so
    code that tolerates unwritable caches keeps doing so."""
