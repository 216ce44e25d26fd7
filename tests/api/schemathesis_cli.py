"""Runs the schemathesis command line (`st`) with one workaround for CPython 3.11.

CPython 3.11 can turn an AST construction into a spurious `SystemError: AST constructor
recursion depth mismatch` (python/cpython#106905). Hypothesis parses its own sources to
describe the filters schemathesis builds (a description only: the string shown for a lambda),
and that error then ends the run as a "Runtime Error" of the tool, unrelated to the server.
Here such a description falls back to hypothesis's own "<unknown>" form.
"""

import sys

import hypothesis.internal.lambda_sources as lambda_sources

_describe = lambda_sources._lambda_description


def _described(f, *args, **kwargs):
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _described

from schemathesis.cli import schemathesis  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "st"
    sys.exit(schemathesis())
