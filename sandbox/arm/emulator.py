"""The emulator's state machine: upserts, async operations, deletes, hooks, and the queries the glue uses."""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandbox.arm import derived, lifecycle, validate
from sandbox.arm.errors import ArmError, bad_request, not_found
from sandbox.arm.faults import Faults
from sandbox.arm.hooks import ArmHooks, DefaultHooks
from sandbox.arm.ids import key
from sandbox.arm.injected import Injected
from sandbox.arm.operations import Operation, Operations, iso, retry_after
from sandbox.arm.rbac import Rbac
from sandbox.arm.store import Store
from sandbox.arm.types import SPECS, TypeSpec, build
from sandbox.clock import AZURE_DURATIONS, Clock

log = logging.getLogger(__name__)

SUBNET_SPEC = SPECS["microsoft.network/virtualnetworks/subnets"]
# Fields that change on every write and so must not count when deciding "same desired state".
VOLATILE = ("etag", "systemData")


def comparable(resource: dict[str, Any]) -> dict[str, Any]:
    r = {k: v for k, v in resource.items() if k not in VOLATILE}
    r["properties"] = {k: v for k, v in (resource.get("properties") or {}).items() if k != "provisioningState"}
    return r


class ArmEmulator(Injected):
    """State and behaviour of the emulated ARM; the aiohttp layer is in `server.py`.

    durations: per-kind overrides in Azure seconds (keys of AZURE_DURATIONS, e.g. {"gateway": 60});
    they are scaled by the clock's time_scale like the defaults.
    """

    def __init__(self, clock: Clock, hooks: ArmHooks | None = None,
                 durations: Mapping[str, float] | None = None, faults: Faults | None = None) -> None:
        self.clock = clock
        self.hooks: ArmHooks = hooks or DefaultHooks()
        self.durations = dict(durations or {})
        self.faults = faults or Faults()
        self.store = Store(clock.now)
        self.rbac = Rbac(self.store, clock, lambda: self.duration_of("principal_replication"))
        self.ops = Operations()
        self.url = ""
        self.ca_path: Path | None = None
        self._log: list[dict[str, Any]] = []
        self._lock: asyncio.Lock | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopper: Any = None
        # Provider namespace (lower case) -> the api-versions it serves, as a sovereign cloud whose
        # providers lag public Azure's; a namespace not listed serves any version.
        self.api_versions: dict[str, set[str]] = {}

    # --- public queries -------------------------------------------------------------------

    def resources(self, type: str | None = None) -> list[dict[str, Any]]:  # noqa: A002 - the brief's name
        """Resources as GET renders them (derived state in, secrets out), optionally of one type."""
        return [derived.render(self.store, rec["resource"]) for rec in self.store.records()
                if type is None or rec["resource"]["type"].lower() == type.lower()]

    def vnets_connected(self, vnet_id_a: str, vnet_id_b: str) -> bool:
        return derived.vnets_connected(self.store, vnet_id_a, vnet_id_b)

    def requests(self) -> list[dict[str, Any]]:
        return list(self._log)

    def counts(self) -> dict[str, int]:
        """reads: GET/HEAD of resources and lists, plus POST list* actions (they change nothing);
        writes: PUT/PATCH/DELETE and other POSTs; polls: GETs of operation URLs;
        throttled: 429 answers; errors: 5xx answers."""
        c = {"total": len(self._log), "reads": 0, "writes": 0, "polls": 0, "throttled": 0, "errors": 0}
        for e in self._log:
            path = e["path"].lower()
            last = path.rstrip("/").rsplit("/", 1)[-1]
            if e["method"] in ("PUT", "PATCH", "DELETE") or (e["method"] == "POST" and not last.startswith("list")):
                c["writes"] += 1
            elif "/operations/" in path or "/operationresults/" in path:
                c["polls"] += 1
            else:
                c["reads"] += 1
            c["throttled"] += e["status"] == 429
            c["errors"] += e["status"] >= 500
        return c

    def dump(self) -> dict[str, Any]:
        return {"store": self.store.dump(), "operations": self.ops.dump()}

    def load(self, data: dict[str, Any]) -> None:
        """Restore a dump; operations still running are rescheduled (they finish at their original time)."""
        self.store.load(data.get("store", {}))
        self.ops.load(data.get("operations", []))
        for op in self.ops.pending():
            self._schedule(op)

    def log_request(self, method: str, path: str, status: int, body: Any) -> None:
        self._log.append({"time": self.clock.now(), "method": method, "path": path, "status": status, "body": body})

    # --- time -----------------------------------------------------------------------------

    def duration_of(self, kind: str) -> float:
        """Real seconds of an Azure duration (AZURE_DURATIONS, or this emulator's override)."""
        return self.clock.scaled(self.durations.get(kind, AZURE_DURATIONS.get(kind, 5)))

    def duration(self, spec: TypeSpec) -> float:
        kind = spec.duration_kind or "resource_group"
        azure_seconds = self.durations.get(kind, AZURE_DURATIONS.get(kind, 5))
        return self.clock.scaled(azure_seconds) * self.faults.slowdown(spec.type_name)

    def azure_time(self, kind: str) -> float:
        """Real seconds for a delay of this kind (AZURE_DURATIONS, or this emulator's override)."""
        return self.clock.scaled(self.durations.get(kind, AZURE_DURATIONS[kind]))

    def retry_after(self, op: Operation) -> str:
        return retry_after(op.ready_at - self.clock.now(), self.clock.scaled(10))

    def initial_retry_after(self, op: Operation) -> str:
        """Retry-After on the 201/202 that starts an operation: whole seconds, rounded down.

        The generated SDKs (network 33, containerservice 41, resource 26) deserialize this one header
        with int(), so "0.05" would crash them; "0" makes azure-core fall back to the client's
        polling_interval for the first poll only. Status responses carry the fractional value.
        """
        return str(int(float(self.retry_after(op))))

    def _schedule(self, op: Operation) -> None:
        loop = self._loop
        if loop is None:
            return

        def arm_timer() -> None:
            delay = max(0.0, op.ready_at - self.clock.now())
            # Settle on the loop at the deadline, so hooks fire even if no client is polling.
            self._timers.append(loop.call_later(delay, lambda: asyncio.ensure_future(self.settle())))

        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        # load() may be called from another thread (tests, the glue's admin code): hop onto the loop.
        if on_loop:
            arm_timer()
        else:
            loop.call_soon_threadsafe(arm_timer)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = asyncio.Lock()
        for op in self.ops.pending():
            self._schedule(op)

    async def stop(self) -> None:
        for t in self._timers:
            t.cancel()
        self._timers.clear()
        if self._stopper is not None:
            await self._stopper()
            self._stopper = None

    async def settle(self) -> None:
        """Finish every operation whose time has come: set provisioningState, delete, run hooks."""
        assert self._lock is not None, "attach() the emulator to a loop first"
        async with self._lock:
            assert self._loop is not None
            self._timers = [t for t in self._timers if not t.cancelled() and t.when() > self._loop.time()]
            for op in self.ops.due(self.clock.now()):
                op.done = True
                if op.kind == "put":
                    await self._finish_put(op)
                else:
                    await self._finish_delete(op)

    async def _finish_put(self, op: Operation) -> None:
        final = "Failed" if op.error else "Succeeded"
        for rid in op.resource_ids:
            rec = self.store.get(rid)
            if rec is None or rec.get("op") != op.id:
                continue  # replaced by a later PUT, or deleted meanwhile
            rec["resource"]["properties"]["provisioningState"] = final
            rec["op"] = None
            if rec["resource"]["type"].lower() == derived.CONNECTION:
                rec["up_at"] = self.clock.now() + self.azure_time("tunnel")
            if final == "Succeeded" and rec["resource"]["type"].lower() == derived.CLUSTER:
                await self._call_hook("on_cluster_provisioned", derived.render(self.store, rec["resource"]))

    async def _finish_delete(self, op: Operation) -> None:
        root = op.resource_ids[0]
        doomed = [r for r in self.store.under(root)]
        root_rec = self.store.get(root)
        if root_rec is not None:
            doomed.append(root_rec)
        rendered = [derived.render(self.store, r["resource"]) for r in doomed]
        now = self.clock.now()
        for r in doomed:
            self.store.delete(r["resource"]["id"])
            if r["resource"]["type"].lower() == derived.CLUSTER:
                lifecycle.release_cluster_nics(self.store, r["resource"], now + self.azure_time("nic_release"))
            lifecycle.keep_listed(self.store, r["resource"], now + self.azure_time("arm_cache"))
        if root.count("/") == 4:  # a resource group: its whole list goes with it
            lifecycle.forget_group(self.store, root)
        for r in rendered:
            await self._call_hook("on_deleted", r)

    async def _call_hook(self, name: str, arg: dict[str, Any]) -> None:
        try:
            result = getattr(self.hooks, name)(arg)
            if inspect.isawaitable(result):
                await result
        except Exception:  # a broken hook must not wedge the emulator; it is logged loudly
            log.exception("ARM hook %s failed for %s", name, arg.get("id"))

    # --- writes ---------------------------------------------------------------------------

    def put(self, spec: TypeSpec, rid: str, body: Any, api_version: str
            ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Idempotent upsert. Returns (status, body, headers)."""
        existing_rec = self.store.get(rid)
        existing = existing_rec["resource"] if existing_rec else None
        if existing:
            rid = existing["id"]  # keep the casing of the first PUT, as ARM does
        resource, secrets = build(spec, rid, rid.rsplit("/", 1)[1], body, existing)
        t = spec.type_name.lower()
        subnets: list[dict[str, Any]] | None = None
        if t == derived.VNET:
            subnets = self._inline_subnets(resource)
            validate.check_vnet(resource, subnets)
        elif t == derived.SUBNET:
            self._check_subnet_in_vnet(resource)
        elif t == derived.CLUSTER:
            self._cluster_identity(resource, existing)
        elif t == derived.ROLE_ASSIGNMENT:
            self.rbac.check_role_assignment(resource, existing)
        if spec.check:
            spec.check(self.store, resource)
        if existing_rec:
            lifecycle.check_write(self.store, rid, t)
        if existing_rec and t not in lifecycle.ALWAYS_OPERATE and self._unchanged(existing_rec, resource, secrets,
                                                                                   subnets):
            return 200, derived.render(self.store, existing_rec["resource"]), self._op_headers(existing_rec, api_version)

        now = self.clock.now()
        self._stamp(resource, existing, now)
        op_ids = [rid]
        if subnets is not None:
            keep = {key(s["id"]) for s in subnets}
            for old in derived.children(self.store, rid, derived.SUBNET):
                if key(old["id"]) not in keep:
                    validate.check_subnet_free(self.store, old["id"])
            for old in derived.children(self.store, rid, derived.SUBNET):
                if key(old["id"]) not in keep:
                    self.store.delete(old["id"])  # a VNet PUT replaces its subnet list, as in Azure
            op_ids += [s["id"] for s in subnets]
        if existing is None and t == derived.IDENTITY:
            self.rbac.born(resource["properties"]["principalId"])
        if not spec.duration_kind:
            if spec.has_state:
                resource["properties"]["provisioningState"] = "Succeeded"
            self.store.put(resource, secrets)
            return (200 if existing else 201), derived.render(self.store, resource), {}
        failure = self.faults.provisioning_failure(rid)
        error = ({"code": failure.code, "message": failure.message} if failure
                 else lifecycle.dependency_conflict(self.store, resource))
        if t == derived.CLUSTER and error is None and existing is None:
            error = self.rbac.cluster_subnet_error(resource)  # AKS joins the nodes as the cluster identity
        rg_sub = rid.split("/")[2]
        op = self.ops.start("put", op_ids, rg_sub, spec.type_name.split("/")[0], resource.get("location") or
                            self._location_of(rid), now, self.duration(spec), error)
        resource["properties"]["provisioningState"] = "Updating" if existing else spec.creating_state
        self.store.put(resource, secrets, op.id)
        self.store.listed_after_delete.pop(key(rid), None)
        for s in subnets or []:
            old_rec = self.store.get(s["id"])
            self._stamp(s, old_rec["resource"] if old_rec else None, now)
            s["properties"]["provisioningState"] = "Updating"
            self.store.put(s, {}, op.id)
        self._schedule(op)
        headers = {"Azure-AsyncOperation": op.status_url(self.url, api_version),
                   "Retry-After": self.initial_retry_after(op)}
        return (200 if existing else 201), derived.render(self.store, resource), headers

    def delete(self, rid: str, ns: str, api_version: str, duration: float) -> tuple[int, dict[str, str]]:
        rec = self.store.get(rid)
        if rec is None:
            return 204, {}
        r = rec["resource"]
        lifecycle.check_delete(self.store, r)
        if r["type"].lower() == derived.SUBNET:
            validate.check_subnet_free(self.store, r["id"])
        elif r["type"].lower() == derived.VNET:
            for s in derived.children(self.store, r["id"], derived.SUBNET):
                validate.check_subnet_free(self.store, s["id"])
        if r.get("properties", {}).get("provisioningState") is not None:
            r["properties"]["provisioningState"] = "Deleting"
        rec["op"] = None
        op = self.ops.start("delete", [r["id"]], r["id"].split("/")[2], ns, r.get("location") or
                            self._location_of(r["id"]), self.clock.now(), duration)
        self._schedule(op)
        headers = {"Location": op.result_url(self.url, api_version), "Retry-After": self.initial_retry_after(op)}
        if ns != "Microsoft.Resources":
            headers["Azure-AsyncOperation"] = op.status_url(self.url, api_version)
        return 202, headers

    def patch_tags(self, rid: str, body: Any) -> dict[str, Any]:
        rec = self.store.get(rid)
        if rec is None:
            raise not_found(rid)
        if not isinstance(body, dict):
            raise bad_request("InvalidRequestContent", "The request content must be a JSON object.")
        r = rec["resource"]
        if "tags" in body and body["tags"] != r.get("tags"):
            r["tags"] = dict(body["tags"] or {})
            self._stamp(r, copy.deepcopy(r), self.clock.now())
        return derived.render(self.store, r)

    # --- helpers --------------------------------------------------------------------------

    def _unchanged(self, rec: dict[str, Any], resource: dict[str, Any], secrets: dict[str, Any],
                   subnets: list[dict[str, Any]] | None) -> bool:
        if (rec["resource"].get("properties") or {}).get("provisioningState") in ("Failed", "Deleting", "Canceled"):
            return False  # a retry after a failure provisions again, as in Azure
        if comparable(rec["resource"]) != comparable(resource) or rec["secrets"] != secrets:
            return False
        if subnets is None:
            return True
        now = sorted((comparable(s) for s in derived.children(self.store, resource["id"], derived.SUBNET)),
                     key=lambda s: s["name"].lower())
        want = sorted((comparable(s) for s in subnets), key=lambda s: s["name"].lower())
        return now == want

    def _op_headers(self, rec: dict[str, Any], api_version: str) -> dict[str, str]:
        op = self.ops.get(rec["op"]) if rec.get("op") else None
        if op is None or op.done:
            return {}
        return {"Azure-AsyncOperation": op.status_url(self.url, api_version),
                "Retry-After": self.initial_retry_after(op)}

    def _stamp(self, r: dict[str, Any], existing: dict[str, Any] | None, now: float) -> None:
        created = ((existing or {}).get("systemData") or {}).get("createdAt") or iso(now)
        r["etag"] = f'W/"{uuid.uuid4()}"'
        r["systemData"] = {"createdBy": "sandbox@multidc.invalid", "createdByType": "User", "createdAt": created,
                           "lastModifiedBy": "sandbox@multidc.invalid", "lastModifiedByType": "User",
                           "lastModifiedAt": iso(now)}

    def _location_of(self, rid: str) -> str:
        parts = rid.split("/")
        rg = self.store.resource("/".join(parts[:5])) if len(parts) >= 5 else None
        return (rg or {}).get("location", "global")

    def _inline_subnets(self, vnet: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        raw = vnet["properties"].pop("subnets", None) or []
        for body in raw:
            name = (body or {}).get("name")
            if not name:
                raise bad_request("InvalidRequestFormat", "Every subnet needs a name.", "properties.subnets")
            sid = f"{vnet['id']}/subnets/{name}"
            old = self.store.resource(sid)
            sid = old["id"] if old else sid
            s, _ = build(SUBNET_SPEC, sid, sid.rsplit("/", 1)[1], body, old)
            out.append(s)
        return out

    def _check_subnet_in_vnet(self, subnet: dict[str, Any]) -> None:
        vnet_id = validate.vnet_id_of_subnet(subnet["id"])
        vnet = self.store.resource(vnet_id)
        if vnet is None:
            raise ArmError(404, "ParentResourceNotFound", f"Parent resource '{vnet_id}' not found.")
        siblings = [s for s in derived.children(self.store, vnet_id, derived.SUBNET) if key(s["id"]) != key(subnet["id"])]
        validate.check_vnet(vnet, [*siblings, subnet])

    def _cluster_identity(self, mc: dict[str, Any], existing: dict[str, Any] | None) -> None:
        ident = mc.get("identity") or {}
        if (ident.get("type") or "").lower() == "systemassigned":
            old = (existing or {}).get("identity") or {}
            ident["principalId"] = old.get("principalId") or str(uuid.uuid4())
            ident["tenantId"] = old.get("tenantId") or "72f988bf-86f1-41af-91ab-2d7cd011db47"
