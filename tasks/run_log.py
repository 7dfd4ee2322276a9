"""Library loggers into the Prefect run's log: what they say inside a task or flow run shows in the UI.

Prefect sends only its run loggers' records to the API (`get_run_logger`); a standard logger, ours or a
library's (azure-core's retry policy, say), logs to the console alone. `route_to_run_log(name)` hangs a
handler on that logger which passes each record, inside a run, to the run's logger; outside a run it
does nothing (the logger's own handlers still get the record).
"""

from __future__ import annotations

import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger


class RunLogHandler(logging.Handler):
    """Passes records to the current Prefect run's logger (which sends them to the API)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            run_log = get_run_logger()
        except MissingContextError:
            return
        try:
            run_log.log(record.levelno, "%s", record.getMessage(), extra={"source_logger": record.name})
        except Exception:  # noqa: BLE001 - a log line must never fail the work it describes
            self.handleError(record)


def route_to_run_log(name: str) -> None:
    """Send what logger `name` logs inside a run to the run's log too (once per logger)."""
    logger = logging.getLogger(name)
    if not any(isinstance(h, RunLogHandler) for h in logger.handlers):
        logger.addHandler(RunLogHandler())
    if logger.level == logging.NOTSET:  # else INFO lines stop at the root logger's WARNING
        logger.setLevel(logging.INFO)


def run_logger(fallback: str = "multidc.tasks") -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger inside a run; the `fallback` standard logger when called through `.fn`."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(fallback)
