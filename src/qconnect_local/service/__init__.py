"""Resource behaviour: plain functions taking model member names in and giving them out.

Importing this package registers every implemented operation with `registry`.
"""

from qconnect_local.service import knowledge_bases, tags  # noqa: F401  (registration side effect)
from qconnect_local.service.registry import handlers

__all__ = ["handlers"]
