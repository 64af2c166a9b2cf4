"""Queue trigger: read one target now, evaluate it, record it. Failures retry, then go to -poison."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.service.bindings import WORK_QUEUE

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger(__name__)
QUEUE = WORK_QUEUE  # fixed name: the host binds it before any setting could be read


@bp.function_name("evaluate_target")
@bp.queue_trigger(arg_name="msg", queue_name=QUEUE, connection="ComplianceStorage")
def evaluate_target(msg: func.QueueMessage) -> None:
    # Imported on first use: indexing the functions must stay cheap (cold start).
    from shared.service import runtime
    from shared.service.bindings import BadWorkItem, WorkItem

    try:
        item = WorkItem.from_json(msg.get_body())
    except BadWorkItem as exc:
        # Retrying cannot fix a malformed message: log it and let it go.
        log.error("work item %s dropped: %s", msg.id, exc)
        return
    outcome = runtime.pipeline().process(item)  # transient failures raise: the queue retries
    log.info("%s %s: %s", outcome.result, outcome.target_id, outcome.reason)
