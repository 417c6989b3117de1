"""The interpreter: concrete STATE and REQUEST in, a Verdict with its trace out."""

from redline.interp.validate import Validator, Verdict
from redline.interp.values import InputError, load_request, load_state

__all__ = ["InputError", "Validator", "Verdict", "load_request", "load_state"]
