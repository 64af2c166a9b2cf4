"""Function App blueprints: one per trigger, thin adapters over ``shared``.

The event, queue and timer triggers arrive with the event pipeline; ``blueprints``
is the list ``function_app`` registers.
"""

from __future__ import annotations

from typing import Any

blueprints: list[Any] = []
