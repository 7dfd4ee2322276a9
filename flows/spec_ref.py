"""SpecRef: the typed flow parameter that names a ring spec, by file path or by saved block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.blocks.system import Secret
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from multidc_core.load import load_spec
from multidc_core.spec import RingSpec


class SpecRef(BaseModel):
    """Where the ring spec is: a YAML file the worker can read, or a saved block holding the YAML.

    A bare string is accepted too: one ending in .yaml/.yml or holding a '/' is a path, anything else
    a block name (so `--param spec=examples/sandbox.yaml` works from the CLI).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str | None = Field(
        default=None,
        description="Path to the ring spec YAML as the worker sees it, e.g. examples/sandbox.yaml.",
    )
    block: str | None = Field(
        default=None,
        description="Name of a Secret block whose value is the ring spec YAML (leave path empty).",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            looks_like_file = value.endswith((".yaml", ".yml")) or "/" in value
            return {"path": value} if looks_like_file else {"block": value}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SpecRef:
        if (self.path is None) == (self.block is None):
            raise ValueError("give the spec as exactly one of 'path' (a YAML file) or 'block' (a block name)")
        return self

    def text(self) -> str:
        """The spec YAML."""
        if self.path is not None:
            return Path(self.path).expanduser().read_text()
        block = Secret.load(str(self.block))
        assert isinstance(block, Secret)  # load is sync here: flows call it outside an event loop
        value = block.get()
        if not isinstance(value, str):
            raise ValueError(
                f"block {self.block!r} must hold the spec as YAML text, not {type(value).__name__}"
            )
        return value

    def load(self) -> RingSpec:
        """Read and validate the spec; raises SpecError naming every problem."""
        return load_spec(self.text())

    def __str__(self) -> str:
        return f"path {self.path}" if self.path is not None else f"block {self.block}"


def save_spec_block(name: str, text: str) -> SpecRef:
    """Validate spec text, save it as a block and return the reference to pass as a parameter."""
    load_spec(text)
    Secret(value=SecretStr(text)).save(name, overwrite=True)
    return SpecRef(block=name)
