"""Every log line of a flow run, read back through the Prefect API once the log worker has sent it."""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogWorker

PAGE = 200  # the API's default page size; a flow run of the ring logs more than one page


def flow_run_logs(flow_run_id: Any) -> list[str]:
    """The messages of a flow run and its task runs, oldest first.

    Logs reach the API in batches from a background worker, so a run that has just finished may not
    have sent its last lines yet: drain the worker first (as APILogHandler.flush does; at most 5 s).
    """
    APILogWorker.drain_all(timeout=5)
    messages: list[str] = []
    flt = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        assert runs, f"flow run {flow_run_id} not found through the API"
        while True:
            page = client.read_logs(log_filter=flt, limit=PAGE, offset=len(messages))
            messages.extend(log.message for log in page)
            if len(page) < PAGE:
                return messages
