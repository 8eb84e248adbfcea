"""Monitoring: jurisdictions, indicators, series, observations, ingest, detection runs.

One job per module: :mod:`.jurisdictions`, :mod:`.indicators`, :mod:`.ingest`,
:mod:`.detectors` (detection configurations), :mod:`.runs` (detection runs),
:mod:`.series` (reading series, their history and signals). Tables live in
:mod:`.models`, input and output shapes in :mod:`.schemas`.

tocsin stores aggregate indicators only: there is no table, column or import path for
records about individual people.
"""
