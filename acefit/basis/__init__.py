"""The ACE basis: specification, radial and angular parts, couplings, evaluation."""

from .ace import ACEBasis, BasisValues
from .spec import BasisFunction

__all__ = ["ACEBasis", "BasisFunction", "BasisValues"]
