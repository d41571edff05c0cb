"""The chapters' shared helpers now live in ``minigan.chapter`` (settings, the run, reports) and
``minigan.densities`` (1D densities). This module only re-exports the names chapter 5 still
imports from here; new code imports ``minigan.chapter``.
"""
from minigan.chapter import (ROOT, make_parser, non_negative_int, parse_args,  # noqa: F401
                             positive_int, report, session)
