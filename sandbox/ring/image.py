"""The official `cassandra` image as the sandbox runs it: its version, its stock /etc/cassandra, its entrypoint.

Sources: docker-library/cassandra `5.0/docker-entrypoint.sh` (the same script for 4.0 and 4.1) and the
stock `conf/cassandra.yaml` / `conf/cassandra-rackdc.properties` of apache/cassandra (only the lines
the entrypoint rewrites or the sandbox reads are modelled).
"""

from __future__ import annotations

import re

YAML = "cassandra.yaml"
RACKDC = "cassandra-rackdc.properties"
ETC = "/etc/cassandra"
DEFAULT_IMAGE = "cassandra:5.0"
SIMULATED = ("4.0", "4.1", "5.0")
_TAG = re.compile(r"^(\d+)(?:\.(\d+))?")
# Floating tags of the official image: `latest` and `5` are 5.0.x, `4` is 4.1.x (docker-library's versions.json).
_FLOATING = {"latest": "5.0", "5": "5.0", "4": "4.1"}
# The env vars the entrypoint seds into `^(# )?key:` lines, in its order.
ENTRYPOINT_KEYS = ("broadcast_address", "broadcast_rpc_address", "cluster_name", "endpoint_snitch",
                   "listen_address", "num_tokens", "rpc_address", "start_rpc")


def image_version(image: str) -> str:
    """major.minor the image runs, from its tag; untagged or digest-only images are taken as `latest`.

    The sandbox simulates 4.0, 4.1 and 5.0: an older tag is treated as 4.0, a newer one as 5.0.
    """
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    tag = name.split(":", 1)[1] if ":" in name else "latest"
    if tag in _FLOATING:
        return _FLOATING[tag]
    match = _TAG.match(tag)
    if match is None:
        return _FLOATING["latest"]
    version = f"{match.group(1)}.{match.group(2) or 0}"
    key = tuple(int(x) for x in version.split("."))
    if key < (4, 0):
        return SIMULATED[0]
    return version if version in SIMULATED else SIMULATED[-1]


def stock_yaml(version: str) -> str:
    """The stock cassandra.yaml's lines that matter here (apache/cassandra conf/cassandra.yaml of the version)."""
    if version == "5.0":  # 5.0's stock file gives the authenticator as a parameterized class
        authenticator = "authenticator:\n  class_name : org.apache.cassandra.auth.AllowAllAuthenticator\n"
    else:
        authenticator = "authenticator: AllowAllAuthenticator\n"
    hint_window = "max_hint_window_in_ms: 10800000" if version == "4.0" else "max_hint_window: 3h"
    return (
        "cluster_name: 'Test Cluster'\n"
        "num_tokens: 16\n"
        "allocate_tokens_for_local_replication_factor: 3\n"
        "hinted_handoff_enabled: true\n"
        f"{hint_window}\n"
        f"{authenticator}"
        "authorizer: AllowAllAuthorizer\n"
        "role_manager: CassandraRoleManager\n"
        "network_authorizer: AllowAllNetworkAuthorizer\n"
        "partitioner: org.apache.cassandra.dht.Murmur3Partitioner\n"
        "seed_provider:\n"
        "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
        "    parameters:\n"
        '      - seeds: "127.0.0.1:7000"\n'
        "storage_port: 7000\n"
        "listen_address: localhost\n"
        "# broadcast_address: 1.2.3.4\n"
        "start_native_transport: true\n"
        "native_transport_port: 9042\n"
        "rpc_address: localhost\n"
        "# broadcast_rpc_address: 1.2.3.4\n"
        "endpoint_snitch: SimpleSnitch\n"
    )


def stock_etc(version: str) -> dict[str, str]:
    """The image's /etc/cassandra (file name -> text)."""
    return {YAML: stock_yaml(version), RACKDC: "dc=dc1\nrack=rack1\n"}


def _sed(text: str, pattern: str, replacement: str) -> str:
    # sed -r works line by line; Python's re with MULTILINE and `.` not crossing lines does the same.
    return re.sub(pattern, lambda m: m.expand(replacement), text, flags=re.MULTILINE)


def _literal(value: str) -> str:
    return value.replace("\\", "\\\\")


def entrypoint(etc: dict[str, str], env: dict[str, str], pod_ip: str) -> dict[str, str]:
    """docker-entrypoint.sh on /etc/cassandra: env values land only where the file has the line.

    Raises ValueError with sed's complaint when a file it edits is missing (the script runs `set -e`).
    """
    etc = dict(etc)
    val = {f"CASSANDRA_{k.upper()}": env.get(f"CASSANDRA_{k.upper()}") for k in ENTRYPOINT_KEYS}
    # `: ${VAR='default'}` sets only an unset variable; `:=` also an empty one.
    if val["CASSANDRA_RPC_ADDRESS"] is None:
        val["CASSANDRA_RPC_ADDRESS"] = "0.0.0.0"  # noqa: S104 (the image's own default)
    if val["CASSANDRA_LISTEN_ADDRESS"] in (None, "auto"):
        val["CASSANDRA_LISTEN_ADDRESS"] = pod_ip
    if val["CASSANDRA_BROADCAST_ADDRESS"] is None:
        val["CASSANDRA_BROADCAST_ADDRESS"] = val["CASSANDRA_LISTEN_ADDRESS"]
    if val["CASSANDRA_BROADCAST_ADDRESS"] == "auto":
        val["CASSANDRA_BROADCAST_ADDRESS"] = pod_ip
    val["CASSANDRA_BROADCAST_RPC_ADDRESS"] = val["CASSANDRA_BROADCAST_RPC_ADDRESS"] or val["CASSANDRA_BROADCAST_ADDRESS"]
    seeds = env.get("CASSANDRA_SEEDS") or val["CASSANDRA_BROADCAST_ADDRESS"] or ""
    text = _need(etc, YAML)
    text = _sed(text, r"(- seeds:).*", rf'\1 "{_literal(seeds)}"')
    for key in ENTRYPOINT_KEYS:
        value = val[f"CASSANDRA_{key.upper()}"]
        if value:
            text = _sed(text, rf"^(# )?({key}:).*", rf"\2 {_literal(value)}")
    etc[YAML] = text
    for part in ("dc", "rack"):
        value = env.get(f"CASSANDRA_{part.upper()}")
        if value:
            etc[RACKDC] = _sed(_need(etc, RACKDC), rf"^({part}=).*", rf"\1 {_literal(value)}")
    return etc


def _need(etc: dict[str, str], name: str) -> str:
    if name not in etc:
        raise ValueError(f"sed: can't read {ETC}/{name}: No such file or directory")
    return etc[name]


def properties(text: str) -> dict[str, str]:
    """java.util.Properties.load for `key=value` lines: leading blanks of the value are dropped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.lstrip()
    return out
