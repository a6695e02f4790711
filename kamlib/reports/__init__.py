"""Reports: parameterised notebooks run by papermill into self-contained offline HTML.

The top of the one-way flow below the command line.  :mod:`~kamlib.reports.engine` runs a
notebook of ``notebooks/`` in a pool of warm kernels with its parameters, pins the data
snapshot, writes ``reports/<report>/<period>/<slug>/index.html`` with a manifest atomically
(a failed report leaves the earlier good one in place), and runs batches per target group;
:mod:`~kamlib.reports.specs` reads what a report notebook declares,
:mod:`~kamlib.reports.needs` skips a report whose needs the store does not meet, and
:mod:`~kamlib.reports.jobs` holds the jobs and their results;
:mod:`~kamlib.reports.schedule` reads ``schedule.yml`` and renders what is due;
:mod:`~kamlib.reports.html` exports a notebook as one offline page and
:mod:`~kamlib.reports.index_pages` the index pages; :mod:`~kamlib.reports.offline` owns the
offline chart renderer and its vega bundle cache (the only chart code that touches files).
Only this package and :mod:`kamlib.data` touch the file system.

Importing ``kamlib.reports`` loads only the offline renderer (notebooks call
:func:`enable_offline`); the engine, which loads papermill when a report runs, is imported as
``kamlib.reports.engine`` where it is needed.
"""

from kamlib.reports.offline import enable_offline

__all__ = ["enable_offline"]
