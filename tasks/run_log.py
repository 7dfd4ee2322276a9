"""Library loggers into the Prefect run's log: what they say inside a task or flow run shows in the UI.

Prefect sends only its run loggers' records to the API (`get_run_logger`); a standard logger, ours or a
library's (azure-core's retry policy, say), logs to the console alone. `route_to_run_log(name)` hangs a
handler on that logger which passes each record, inside a run, to the run's logger; outside a run, to
the parent logger's handlers as propagation would.
"""

from __future__ import annotations

import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger


class RunLogHandler(logging.Handler):
    """Passes records to the current Prefect run's logger (which prints them and sends them to the API);
    outside a run, to the routed logger's parent, as propagation would."""

    def __init__(self, routed: logging.Logger) -> None:
        super().__init__()
        self.routed = routed

    def emit(self, record: logging.LogRecord) -> None:
        try:
            run_log = get_run_logger()
        except MissingContextError:
            if self.routed.parent is not None:  # the console, pytest's caplog, a CLI's handlers
                self.routed.parent.handle(record)
            return
        try:
            run_log.log(record.levelno, "%s", record.getMessage(), extra={"source_logger": record.name})
        except Exception:  # noqa: BLE001 - a log line must never fail the work it describes
            self.handleError(record)


def route_to_run_log(name: str) -> None:
    """Send what logger `name` logs inside a run to the run's log instead of the root logger's handlers.

    Inside a run the run logger prints the line once (with the run's name) and honours
    PREFECT_LOGGING_LEVEL; the record does not propagate as well, which printed it a second time on the
    console whatever that level said. Outside a run the handler passes it on to the parent logger.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(h, RunLogHandler) for h in logger.handlers):
        logger.addHandler(RunLogHandler(logger))
    logger.propagate = False
    if logger.level == logging.NOTSET:  # else INFO lines stop at the root logger's WARNING
        logger.setLevel(logging.INFO)


def run_logger(fallback: str = "multidc.tasks") -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger inside a run; the `fallback` standard logger when called through `.fn`."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(fallback)
