"""ARM error answers: an exception carrying the HTTP status and the ARM error code."""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    """Raised anywhere in request handling; the server turns it into `{"error": {...}}`."""

    def __init__(self, status: int, code: str, message: str, target: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        return {"error": error}


def bad_request(code: str, message: str, target: str | None = None) -> ArmError:
    return ArmError(400, code, message, target)


def not_found(resource_id: str, code: str = "ResourceNotFound") -> ArmError:
    return ArmError(404, code, f"The Resource '{resource_id}' was not found.")


def invalid_reference(ref_id: str, referrer: str) -> ArmError:
    # Wording after Network RP: "Resource X referenced by resource Y was not found."
    return ArmError(
        400,
        "InvalidResourceReference",
        f"Resource {ref_id} referenced by resource {referrer} was not found. "
        "Please make sure that the referenced resource exists, and that both resources are in the same region.",
    )
