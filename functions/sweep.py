"""Timer trigger: the whole estate through Resource Graph, the log outbox re-sent, deletions found."""

from __future__ import annotations

import logging

import azure.functions as func

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger(__name__)


@bp.function_name("sweep")
@bp.timer_trigger(arg_name="timer", schedule="%SWEEP_SCHEDULE%", run_on_startup=False, use_monitor=True)
def sweep(timer: func.TimerRequest) -> None:
    from shared.service import runtime

    report = runtime.pipeline().sweep()
    log.info(
        "sweep: %d listed, %d enqueued, %d re-checked, %d log records re-sent, %d poison",
        report.listed,
        report.enqueued,
        len(report.rechecked),
        report.resent,
        report.poison,
    )
