"""The synthetic fleet's parameters, apart from the generator so that naming them loads no engine."""

from __future__ import annotations

from dataclasses import dataclass, field

# SRVs a Supplier sends routinely (reads, prepayment, configuration), weighted; illustrative, not cited.
DEFAULT_MIX = (("4.1.1", 40), ("4.8.1", 20), ("2.2", 10), ("6.2.1", 10), ("1.6", 10), ("6.23", 5), ("11.2", 5))


@dataclass(frozen=True, slots=True)
class FleetParams:
    devices: int = 10_000
    smets1_share: float = 0.3  # illustrative: SMETS1 is a minority of the enrolled fleet
    wrong_no_share: float = 0.01  # illustrative: the MP107 report gives no national figure
    electricity_share: float = 0.55
    suppliers: int = 20
    dnos: int = 14  # the 14 electricity distribution licence areas of GB
    gts: int = 8
    churn: float = 0.1  # sites that changed Supplier in the last year
    requests: int = 0
    correction_share: float = 0.05
    srv_mix: tuple[tuple[str, int], ...] = field(default=DEFAULT_MIX)
    seed: int = 1
    at: str = "2026-03-01T12:00:00Z"  # the snapshot instant; requests fall in the 30 days before it


@dataclass(frozen=True, slots=True)
class Engine:
    """Which engine judges the requests (`--engine`): DuckDB in this process, or Spark at `master`
    (default local[N] from --threads), staging its Parquet under `staging` (default a temporary
    directory; on a cluster, storage every executor reads at the same path). Loading, checking and
    counting are DuckDB's either way."""

    name: str = "duckdb"
    master: str | None = None
    staging: str | None = None


DUCKDB = Engine()  # the default: no set-up
