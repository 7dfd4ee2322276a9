"""CQL errors with the class names and texts cqlsh prints after `<stdin>:1:`."""

from __future__ import annotations

from sandbox.ring.consistency import Unavailable
from sandbox.ring.node import Node


class CqlError(Exception):
    """An error as cqlsh prints it after `<stdin>:1:`: the exception class name and its text."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name, self.text = name, text


def invalid(msg: str) -> CqlError:
    return CqlError("InvalidRequest", f'Error from server: code=2200 [Invalid query] message="{msg}"')


def config_error(msg: str) -> CqlError:
    return CqlError(
        "ConfigurationException",
        f'Error from server: code=2300 [Query invalid because of configuration issue] message="{msg}"',
    )


def unauthorized(msg: str) -> CqlError:
    return CqlError("Unauthorized", f'Error from server: code=2100 [Unauthorized] message="{msg}"')


def unavailable(node: Node, e: Unavailable) -> CqlError:
    # cqlsh has one host in its load-balancing policy, so the driver's retry ends in NoHostAvailable.
    info = f"{{'consistency': '{e.level}', 'required_replicas': {e.required}, 'alive_replicas': {e.alive}}}"
    inner = (
        f'Error from server: code=1000 [Unavailable exception] message="Cannot achieve consistency level '
        f'{e.level}" info={info}'
    )
    return CqlError(
        "NoHostAvailable",
        f"('Unable to complete the operation against any hosts', {{<Host: {node.ip}:9042 {node.config.dc}>: "
        f"Unavailable({inner!r})}})",
    )
