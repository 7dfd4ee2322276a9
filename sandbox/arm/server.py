"""aiohttp front of the ARM emulator: auth, api-version, faults, request log, routing; start/stop helpers."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.arm import derived, lifecycle
from sandbox.arm.emulator import ArmEmulator
from sandbox.arm.errors import ArmError, bad_request, not_found
from sandbox.arm.faults import Faults
from sandbox.arm.hooks import ArmHooks
from sandbox.arm.ids import Target, key, parse
from sandbox.arm.types import SPECS, TENANT_ID, spec_for
from sandbox.clock import Clock
from sandbox.tls import ensure_tls

Answer = tuple[int, Any, dict[str, str]]
WRITES = ("PUT", "POST", "PATCH", "DELETE")
RG_SPEC = SPECS["microsoft.resources/resourcegroups"]
RA_TYPE = "Microsoft.Authorization/roleAssignments"
ROLE_NAMES = {"4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
              "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
              "f1a07417-d97a-45cb-824c-7a7467783830": "Managed Identity Operator"}


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise bad_request("InvalidRequestContent", f"The request content was invalid and could not be deserialized: {e}") from e


class Router:
    def __init__(self, emu: ArmEmulator) -> None:
        self.emu = emu

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        logged: Any = None
        if request.method in WRITES and raw:
            try:
                logged = json.loads(raw)
            except ValueError:
                logged = raw.decode("utf-8", "replace")
        try:
            status, body, headers = await self.answer(request, raw)
        except ArmError as e:
            status, body, headers = e.status, e.body(), {}
        self.emu.log_request(request.method, request.path, status, logged)
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def answer(self, request: web.Request, raw: bytes) -> Answer:
        auth = request.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        api_version = request.query.get("api-version")
        if not api_version:
            raise bad_request("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required "
                              "for all requests.")
        self._check_api_version(request.path, api_version)
        fault = self.emu.faults.error_for(request.method, request.path)
        if fault is not None:
            headers = {"Retry-After": f"{fault.retry_after:.3f}"} if fault.retry_after is not None else {}
            if fault.status == 429:
                return 429, ArmError(429, "SubscriptionRequestsThrottled", "Number of requests for subscription "
                                     "exceeded the limit (injected fault).").body(), headers
            return fault.status, ArmError(fault.status, "InternalServerError", "Encountered internal server error "
                                          "(injected fault).").body(), headers
        await self.emu.settle()
        target = parse(request.path)
        if target is None:
            raise ArmError(404, "NotFound", f"No route matches '{request.path}'.")
        handler = getattr(self, f"do_{target.kind}")
        result: Answer = await handler(request.method, target, raw, api_version, request)
        return result

    # --- subscription and resource groups ---------------------------------------------------

    async def do_subscription(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        return 200, {"id": f"/subscriptions/{t.sub}", "subscriptionId": t.sub, "tenantId": TENANT_ID,
                     "displayName": "multidc sandbox", "state": "Enabled"}, {}

    def _rg(self, t: Target) -> dict[str, Any]:
        rg = self.emu.store.resource(t.rg_id())
        if rg is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{t.rg}' could not be found.")
        return rg

    def _in(self, rid: str, prefix: str) -> bool:
        return key(rid).startswith(key(prefix) + "/")

    async def do_rg_list(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        sub = f"/subscriptions/{t.sub}"
        return 200, {"value": [derived.render(self.emu.store, r) for r in self.emu.store.of_type(RG_SPEC.type_name)
                               if self._in(r["id"], sub)]}, {}

    async def do_rg(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        existing = self.emu.store.resource(t.rg_id())
        if method == "PUT":
            body = _json(raw)
            if existing and isinstance(body, dict) and body.get("location") and \
                    body["location"].replace(" ", "").lower() != existing["location"]:
                # 409, as ARM answers (github.com/trailofbits/algo/issues/1814).
                raise ArmError(409, "InvalidResourceGroupLocation", f"Invalid resource group location "
                                  f"'{body['location']}'. The Resource group already exists in location "
                                  f"'{existing['location']}'.")
            return self.emu.put(RG_SPEC, t.rg_id(), body, api)
        if method == "HEAD":
            return (204 if existing else 404), None, {}
        rg = self._rg(t)
        if method == "GET":
            return 200, derived.render(self.emu.store, rg), {}
        if method == "PATCH":
            return 200, self.emu.patch_tags(rg["id"], _json(raw)), {}
        if method == "DELETE":
            inside = [spec_for(r["resource"]["type"]) for r in self.emu.store.under(rg["id"])]
            slowest = max((self.emu.duration(s) for s in inside if s), default=self.emu.duration(RG_SPEC))
            status, headers = self.emu.delete(rg["id"], "Microsoft.Resources", api, slowest)
            return status, None, headers
        raise ArmError(405, "MethodNotAllowed", f"{method} is not supported here.")

    async def do_rg_resources(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        rg = self._rg(t)
        expand = "provisioningstate" in (req.query.get("$expand") or "").lower()
        out = []
        for rec in self.emu.store.under(rg["id"]):
            r = rec["resource"]
            if r["type"].count("/") == 1:
                entry = {k: r[k] for k in ("id", "name", "type", "location", "tags") if k in r}
                if expand and derived.state(r):
                    entry["provisioningState"] = derived.state(r)
                out.append(entry)
        # ARM lists from its cache: a deleted resource stays until ARM's own GET of it says 404.
        for entry in lifecycle.still_listed(self.emu.store, rg["id"]):
            out.append(entry if expand else {k: v for k, v in entry.items() if k != "provisioningState"})
        return 200, {"value": out}, {}

    # --- typed resources ----------------------------------------------------------------------

    async def do_list_rg(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        rg = self._rg(t)
        return 200, {"value": [derived.render(self.emu.store, r) for r in self.emu.store.of_type(t.type_name)
                               if self._in(r["id"], rg["id"])]}, {}

    async def do_list_sub(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        sub = f"/subscriptions/{t.sub}"
        return 200, {"value": [derived.render(self.emu.store, r) for r in self.emu.store.of_type(t.type_name)
                               if self._in(r["id"], sub)]}, {}

    def _resource_id(self, t: Target) -> tuple[str, Any]:
        spec = spec_for(t.type_name)
        if spec is None:
            raise ArmError(404, "InvalidResourceType", f"The resource type '{t.type_name}' could not be found.")
        rg = self._rg(t)
        rid = t.resource_id(rg["name"])
        if len(t.types) > 1:
            parent = rid.rsplit("/", 2)[0]
            if self.emu.store.get(parent) is None:
                raise ArmError(404, "ParentResourceNotFound", f"Can not perform requested operation on nested "
                               f"resource. Parent resource '{parent}' not found.")
        return rid, spec

    async def do_resource(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        rid, spec = self._resource_id(t)
        if method == "PUT":
            return self.emu.put(spec, rid, _json(raw), api)
        rec = self.emu.store.get(rid)
        if method == "GET":
            if rec is None:
                raise not_found(rid, "NotFound" if len(t.types) > 1 else "ResourceNotFound")
            return 200, derived.render(self.emu.store, rec["resource"]), {}
        if method == "PATCH":
            return 200, self.emu.patch_tags(rid, _json(raw)), {}
        if method == "DELETE":
            return await self._delete(rid, spec, api)
        raise ArmError(405, "MethodNotAllowed", f"{method} is not supported here.")

    async def _delete(self, rid: str, spec: Any, api: str) -> Answer:
        if spec.duration_kind is None:
            rec = self.emu.store.delete(rid)
            if rec is None:
                return 204, None, {}
            await self.emu._call_hook("on_deleted", rec["resource"])
            return 200, derived.render(self.emu.store, rec["resource"]), {}
        status, headers = self.emu.delete(rid, spec.type_name.split("/")[0], api, self.emu.duration(spec))
        return status, None, headers

    async def do_children(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        action = t.action.lower()
        parent_target = Target("resource", sub=t.sub, rg=t.rg, ns=t.ns, types=t.types[:1], names=t.names)
        if spec_for(t.type_name) is not None and method == "GET":
            rid, _ = self._resource_id(parent_target)
            if self.emu.store.get(rid) is None:
                raise not_found(rid)
            return 200, {"value": [derived.render(self.emu.store, r)
                                   for r in derived.children(self.emu.store, rid, t.type_key)]}, {}
        rid, _ = self._resource_id(parent_target)
        rec = self.emu.store.get(rid)
        if rec is None:
            raise not_found(rid)
        r = rec["resource"]
        if method == "POST" and action in ("listclusteradmincredential", "listclusterusercredential") and \
                r["type"].lower() == derived.CLUSTER:
            if r["properties"].get("provisioningState") != "Succeeded":
                raise ArmError(409, "OperationNotAllowed", f"Cluster {r['name']} is not running "
                               f"(provisioningState {r['properties'].get('provisioningState')}).")
            text = self.emu.hooks.kubeconfig_for(derived.render(self.emu.store, r))
            name = "clusterAdmin" if "admin" in action else "clusterUser"
            return 200, {"kubeconfigs": [{"name": name, "value": base64.b64encode(text.encode()).decode()}]}, {}
        if action == "sharedkey" and r["type"].lower() == derived.CONNECTION:
            if method == "PUT":
                body = _json(raw) or {}
                rec["secrets"]["sharedKey"] = body.get("value")
            if method in ("GET", "PUT"):
                value = rec["secrets"].get("sharedKey")
                return 200, {"value": value, "id": f"{r['id']}/sharedkey"}, {}
        raise ArmError(404, "NotFound", f"No route matches '{req.path}'.")

    # --- operations ----------------------------------------------------------------------------

    async def do_op(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        op = self.emu.ops.get(t.op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"Operation {t.op_id} was not found.")
        now = self.emu.clock.now()
        status = op.status(now)
        headers = {"Retry-After": self.emu.retry_after(op)} if status == "InProgress" else {}
        if t.op_kind == "status":
            return 200, op.status_body(now), headers
        if status == "InProgress":
            return 202, None, {**headers, "Location": str(req.url)}
        if status == "Failed":
            return 400, {"error": op.error}, {}
        if op.kind == "put":
            rec = self.emu.store.get(op.resource_ids[0])
            return (200, derived.render(self.emu.store, rec["resource"]), {}) if rec else (204, None, {})
        return 200, None, {}

    async def do_rg_op(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        return await self.do_op(method, t, raw, api, req)

    def _check_api_version(self, path: str, api_version: str) -> None:
        """A cloud whose provider lacks an api-version refuses it (emu.api_versions, empty: any)."""
        parts = path.split("/")
        lower = [p.lower() for p in parts]
        if "providers" not in lower:
            return
        i = len(lower) - 1 - lower[::-1].index("providers")
        ns = lower[i + 1] if i + 1 < len(lower) else ""
        known = self.emu.api_versions.get(ns)
        if known is None or api_version in known:
            return
        rtype = "/".join(parts[i + 2 : i + 3]) or "?"
        raise bad_request("NoRegisteredProviderFound", f"No registered resource provider found for location "
                          f"'global' and API version '{api_version}' for type '{rtype}'. The supported "
                          f"api-versions are '{', '.join(sorted(known))}'.")

    # --- role assignments at any scope ------------------------------------------------------------

    def _ra_id(self, t: Target) -> str:
        return f"{t.scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{t.names[0]}"

    async def do_role_assignment(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        spec = SPECS[RA_TYPE.lower()]
        rid = self._ra_id(t)
        if method == "PUT":
            status, body, headers = self.emu.put(spec, rid, _json(raw), api)
            return 201, body, headers  # the SDK expects 201 for create, even an identical re-create
        rec = self.emu.store.get(rid)
        if method == "GET":
            if rec is None:
                raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{t.names[0]}' is not found.")
            return 200, rec["resource"], {}
        if method == "DELETE":
            return await self._delete(rid, spec, api)
        raise ArmError(405, "MethodNotAllowed", f"{method} is not supported here.")

    async def do_role_assignments(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        flt = (req.query.get("$filter") or "").lower()
        scope = key(t.scope)
        out = []
        for r in self.emu.store.of_type(RA_TYPE):
            rs = key(r["properties"]["scope"])
            related = scope == "/" or rs == scope or scope.startswith(rs + "/") or rs.startswith(scope + "/")
            if "atscope()" in flt:
                related = rs == scope or scope.startswith(rs + "/")
            if "principalid eq" in flt and r["properties"]["principalId"].lower() not in flt:
                related = False
            if related:
                out.append(r)
        return 200, {"value": out}, {}

    async def do_role_definition(self, method: str, t: Target, raw: bytes, api: str, req: web.Request) -> Answer:
        guid = t.names[0]
        return 200, {"id": f"{t.scope.rstrip('/')}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
                     "name": guid, "type": "Microsoft.Authorization/roleDefinitions",
                     "properties": {"roleName": ROLE_NAMES.get(guid.lower(), "Custom role"), "type": "BuiltInRole",
                                    "permissions": [], "assignableScopes": ["/"]}}, {}


def make_app(emu: ArmEmulator) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", Router(emu).handle)
    return app


async def start_arm(state_dir: Path, clock: Clock, hooks: ArmHooks | None = None, port: int = 0, *,
                    durations: Mapping[str, float] | None = None, faults: Faults | None = None) -> ArmEmulator:
    """Serve ARM on https://127.0.0.1:port (0 = any free port) on the running loop."""
    tls = ensure_tls(Path(state_dir))
    emu = ArmEmulator(clock, hooks, durations, faults)
    emu.attach(asyncio.get_running_loop())
    runner = web.AppRunner(make_app(emu), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls.server_context())
    await site.start()
    bound = runner.addresses[0][1]
    emu.url = f"https://127.0.0.1:{bound}"
    emu.ca_path = tls.ca_path
    emu._stopper = runner.cleanup
    return emu


@contextmanager
def arm_in_thread(state_dir: Path, clock: Clock, hooks: ArmHooks | None = None, port: int = 0,
                  **kwargs: Any) -> Iterator[ArmEmulator]:
    """For tests: the emulator on its own loop in a daemon thread, stopped on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="arm-emulator", daemon=True)
    thread.start()
    try:
        emu = asyncio.run_coroutine_threadsafe(start_arm(state_dir, clock, hooks, port, **kwargs), loop).result(30)
        try:
            yield emu
        finally:
            asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
