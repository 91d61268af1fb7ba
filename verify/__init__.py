"""catapult.verify -- where theory and numerics meet: the catalogue, the CLI, reports of runs and scans.

What users call (hypothesis strategies are in :mod:`catapult.verify.strategies`, imported on demand: hypothesis
is a test dependency):

>>> from catapult.verify import KEYS, numeric_problem
>>> "U" in KEYS, numeric_problem("uv", "mse", width=8)[0]
(True, UVModel(width=8, seed=0))
"""

from .catalogue import KEYS, catalogue, model_file_rows
from .problems import numeric_problem
from .runs import RunReport, ScanReport, run, scan

__all__ = ["KEYS", "catalogue", "model_file_rows", "numeric_problem", "RunReport", "ScanReport", "run", "scan"]
