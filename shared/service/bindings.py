"""What the Functions of ``functions/`` bind to, importable without the pipeline.

The host indexes the functions on a cold start; this module keeps that cheap (no SDK)
while ``functions/`` imports only the service layer.
"""

from __future__ import annotations

from shared.core.settings import WORK_QUEUE
from shared.core.work import BadWorkItem, WorkItem

__all__ = ["WORK_QUEUE", "BadWorkItem", "WorkItem"]
