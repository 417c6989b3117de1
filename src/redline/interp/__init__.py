"""The interpreter: concrete STATE and REQUEST in, a Verdict with its trace out."""

from redline.interp.validate import Validator, Verdict, apply_effects
from redline.interp.values import InputError, load_request, load_state

__all__ = ["InputError", "Validator", "Verdict", "apply_effects", "load_request", "load_state"]
