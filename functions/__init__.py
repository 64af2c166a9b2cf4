"""Function App blueprints: one per trigger, thin adapters over ``shared``."""

from __future__ import annotations

from functions.events import bp as events_bp
from functions.sweep import bp as sweep_bp
from functions.worker import bp as worker_bp

blueprints = [events_bp, worker_bp, sweep_bp]
