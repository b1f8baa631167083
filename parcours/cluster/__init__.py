"""parcours.cluster: diagnostics of many territories on Dask (``parcours diagnose A B ...``).

:func:`diagnose_territories` runs each territory's diagnostic plan as Dask tasks (or in
this process), publishes each territory's outputs and the region's aggregates. The tasks
and the run folder that makes a run resumable: :mod:`parcours.cluster.tasks`.
"""

from parcours.cluster.run import RunResult, diagnose_territories
from parcours.cluster.tasks import Published, RunSpec

__all__ = ["Published", "RunResult", "RunSpec", "diagnose_territories"]
