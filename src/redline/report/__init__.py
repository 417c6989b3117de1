"""Evidence bundles (`redline report`): what redline proved, re-checked without trusting it.

collect   results from result providers (`redline prove`; the model checker joins as another), and the diff
recheck   every settled result re-checked: cvc5 on its SMT-LIB2 obligation, or the interpreter replaying its finding
evidence  the document: rule files by hash, versions, results, the assumption register, what was not checked
findings  counterexamples, witnesses and multi-step traces told for people
render_*  the document as a self-contained HTML page and as Markdown
bundle    all of it in memory, then written into a temporary directory and renamed into place
"""

from redline.report.bundle import (
    Bundle,
    BundleError,
    build_bundle,
    exit_status,
    modification_of,
    require_property_about,
    write_bundle,
)
from redline.report.collect import PROVIDERS, Collected, Obligation, ResultProvider, Settings, provider_of
from redline.report.evidence import RuleFile
from redline.report.fleet_section import FleetInput, fleet_impact
from redline.report.recheck import SolverMissing, load_cvc5

__all__ = [
    "PROVIDERS", "Bundle", "BundleError", "Collected", "FleetInput", "Obligation", "ResultProvider", "RuleFile", "Settings",
    "SolverMissing", "build_bundle", "fleet_impact", "exit_status", "load_cvc5", "modification_of", "provider_of",
    "require_property_about", "write_bundle",
]
