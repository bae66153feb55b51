"""Every exception and warning spillmap raises.

Each exception derives from :class:`SpillmapError` and from the matching
built-in, so ``except ValueError`` keeps working for callers that do not know
spillmap.  Messages name the file, layer, column, row or unit ids involved,
say what was expected and what was found, and give the fix.
"""

from __future__ import annotations

__all__ = [
    "SpillmapError",
    "SpillmapWarning",
    "OutputFolderError",
    "OutputRepairWarning",
    "LayerError",
    "LayerReadError",
    "CRSError",
    "MissingColumnError",
    "DuplicateIdError",
    "MissingIdError",
    "GeometryError",
    "GeometryRepairWarning",
    "WeightsError",
    "IslandError",
    "IslandWarning",
    "WeightsFileError",
    "PilotTableError",
    "PilotTableReadError",
    "PilotMatchWarning",
    "PanelShapeError",
    "CollinearityError",
    "EstimationError",
    "ConvergenceError",
    "WeightsAssumptionWarning",
    "SchedulerError",
    "ClusterLostError",
    "CacheWarning",
]


class SpillmapError(Exception):
    """Base class of every error spillmap raises."""


class SpillmapWarning(UserWarning):
    """Base class of every warning spillmap issues."""


class OutputFolderError(SpillmapError, OSError):
    """The output (``--out``) cannot be created, written or published: a file in the way, a read-only or
    full disk, no permission, or a folder holding files spillmap did not write."""

    def __str__(self) -> str:  # OSError would prefix "[Errno n]"
        return str(self.args[0]) if self.args else ""


class OutputRepairWarning(SpillmapWarning):
    """A run that ended without finishing left a staging folder or a half-replaced result beside ``--out``;
    it was removed, or the result restored or completed."""


class LayerError(SpillmapError, ValueError):
    """A boundary or point layer cannot be used as given."""


class LayerReadError(LayerError, OSError):
    """A layer file is missing, unreadable, or the named layer is absent."""


class CRSError(LayerError):
    """A layer has no coordinate reference system, or an unusable one."""


class MissingColumnError(LayerError, KeyError):
    """A named column (id, attribute) is absent from a table or layer."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateIdError(LayerError):
    """The id column holds the same value on more than one row."""


class MissingIdError(LayerError):
    """The id column is empty on some rows, or ids do not match across inputs."""


class GeometryError(LayerError):
    """Geometries are empty, missing, or not of the required type."""


class GeometryRepairWarning(SpillmapWarning):
    """Invalid geometries were repaired with ``shapely.make_valid``."""


class WeightsError(SpillmapError, ValueError):
    """Spatial weights cannot be built or used as requested."""


class IslandError(WeightsError):
    """Some units have no neighbours under the requested weights."""


class IslandWarning(SpillmapWarning):
    """Some units have no neighbours and were kept as zero rows or dropped."""


class WeightsFileError(WeightsError, OSError):
    """A weights file (.gal, .gwt, .npz, .csv) is missing or malformed."""


class PilotTableError(SpillmapError, ValueError):
    """A pilot (treatment) table is malformed or cannot be joined to a layer."""


class PilotTableReadError(PilotTableError, OSError):
    """A pilot table file is missing or unreadable."""


class PilotMatchWarning(SpillmapWarning):
    """Some pilot-table entries map to no unit of the layer and were left out."""


class PanelShapeError(SpillmapError, ValueError):
    """A panel is unbalanced, has missing values, or does not match the weights."""


class CollinearityError(PanelShapeError):
    """Regressors are constant or perfectly collinear after removing fixed effects."""


class EstimationError(SpillmapError, RuntimeError):
    """An estimate cannot be returned (e.g. ρ outside its stable interval)."""


class ConvergenceError(EstimationError):
    """The likelihood could not be maximised."""


class WeightsAssumptionWarning(SpillmapWarning):
    """The weights break an assumption of the estimator (e.g. rows not summing to one)."""


class SchedulerError(SpillmapError, ConnectionError):
    """A Dask scheduler cannot be reached, or has no workers."""


class ClusterLostError(SchedulerError):
    """Every worker of the Dask cluster (or the scheduler itself) was lost during a run."""


class CacheWarning(SpillmapWarning):
    """A cached file failed its check (checksum, input fingerprint, contents) and was recomputed."""
