"""HTTP routing of the emulated API server: discovery, CRUD, patch, watch, Status errors and auth."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.kube.patch import APPLY_PATCH, apply_patch
from sandbox.kube.selectors import field_selector, label_selector
from sandbox.kube.store import BY_PLURAL, RESOURCES, ApiError, Obj, Resource, Store, not_found

Admit = Callable[[Obj, Obj | None], Obj]
ExecHandler = Callable[[web.Request, Obj], Awaitable[web.StreamResponse]]

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
VERSION_INFO = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.2",
    "gitCommit": "5864a4677267e6adeae276ad85882a8714d69d9d",
    "gitTreeState": "clean",
    "buildDate": "2024-10-22T20:28:14Z",
    "goVersion": "go1.22.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


# Registries with ReturnDeletedObject in the real API server: their DELETE answers the object itself.
RETURNS_DELETED_OBJECT = {"Pod", "Service", "PersistentVolumeClaim", "PersistentVolume"}


def _success(res: Resource, obj: Obj) -> Obj:
    if res.kind in RETURNS_DELETED_OBJECT:
        return obj
    meta = obj["metadata"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": meta["name"], "kind": res.plural, "uid": meta.get("uid")},
    }


def _parse(path: str) -> tuple[Resource, str, str, str]:
    """Split an API path into (resource, namespace, name, subresource)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    ns = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        ns, rest = rest[1], rest[2:]
    res = BY_PLURAL.get((group, rest[0]))
    if res is None or len(rest) > 3:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if ns and not res.namespaced:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return res, ns, name, sub


class ApiServer:
    """The aiohttp application of one cluster's API server."""

    def __init__(self, store: Store, token: str, admit: Admit, exec_handler: ExecHandler, now: Callable[[], float]):
        self.store, self.token, self.admit, self.exec_handler, self.now = store, token, admit, exec_handler, now
        self.request_log: list[dict[str, Any]] = []
        self._watchers: set[asyncio.Queue[tuple[str, Obj]]] = set()
        store.listeners.append(self._publish)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        status = 500
        try:
            if request.headers.get("Authorization", "") != f"Bearer {self.token}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            resp = await handler(request)
            status = resp.status
            return resp
        except ApiError as exc:
            status = exc.code
            return _json(exc.status(), exc.code)
        finally:
            self.request_log.append(
                {"time": self.now(), "method": request.method, "path": request.path, "status": status}
            )
            if len(self.request_log) > 20000:  # a long-running sandbox keeps the recent half
                del self.request_log[:10000]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        if path in ("/healthz", "/readyz", "/livez"):
            return web.Response(text="ok")
        discovery = self._discovery(path)
        if discovery is not None:
            return _json(discovery)
        res, ns, name, sub = _parse(path)
        if sub == "exec" and res.kind == "Pod":
            pod = self.store.get(("", "Pod", ns, name))
            if pod is None:
                raise not_found(res, name)
            return await self.exec_handler(request, pod)
        method = request.method
        if not name:
            if method == "GET" and request.query.get("watch") in ("true", "1", "True"):
                return await self._watch(request, res, ns)
            if method == "GET":
                return _json(self._list(res, ns, request))
            if method == "POST":
                return _json(self.create(res, ns, await self._body(request)), 201)
            if method == "DELETE":
                for obj in self._select(res, ns, request):
                    self.delete(res, ns or obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        elif sub in ("", "status"):
            if method == "GET":
                return _json(self.get(res, ns, name))
            if method == "PUT":
                return _json(self.replace(res, ns, name, await self._body(request), sub))
            if method == "PATCH":
                ctype = request.headers.get("Content-Type", "application/merge-patch+json")
                return _json(self.patch(res, ns, name, ctype, await self._body(request), sub))
            if method == "DELETE" and not sub:
                return _json(_success(res, self.delete(res, ns, name)))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    # -- discovery -------------------------------------------------------------------------------

    def _discovery(self, path: str) -> Obj | None:
        if path in ("/version", "/version/"):
            return dict(VERSION_INFO)
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        groups = sorted({(r.group, r.version) for r in RESOURCES if r.group})
        if path == "/apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [self._group(g, v) for g, v in groups],
            }
        for g, v in groups:
            if path == f"/apis/{g}":
                return {"kind": "APIGroup", "apiVersion": "v1", **self._group(g, v)}
        for group, version in [("", "v1"), *groups]:
            prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
            if path == prefix:
                return {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": f"{group}/{version}" if group else version,
                    "resources": [
                        {
                            "name": r.plural,
                            "singularName": r.kind.lower(),
                            "namespaced": r.namespaced,
                            "kind": r.kind,
                            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                        }
                        for r in RESOURCES
                        if r.group == group
                    ],
                }
        return None

    @staticmethod
    def _group(group: str, version: str) -> Obj:
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        return {"name": group, "versions": [gv], "preferredVersion": gv}

    # -- verbs -----------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.text() or "null")
        except json.JSONDecodeError as exc:
            raise ApiError(400, "BadRequest", f"the request body is not valid JSON: {exc}") from exc

    def _key(self, res: Resource, ns: str, name: str) -> tuple[str, str, str, str]:
        return (res.group, res.kind, ns if res.namespaced else "", name)

    def _select(self, res: Resource, ns: str, request: web.Request) -> list[Obj]:
        labels = label_selector(request.query.get("labelSelector"))
        fields = field_selector(request.query.get("fieldSelector"))
        return [o for o in self.store.list(res.kind, ns or None) if labels(o) and fields(o)]

    def _list(self, res: Resource, ns: str, request: web.Request) -> Obj:
        items = self._select(res, ns, request)
        for item in items:
            item.setdefault("kind", res.kind)
        return {
            "kind": f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": self.store.resource_version},
            "items": items,
        }

    def get(self, res: Resource, ns: str, name: str) -> Obj:
        obj = self.store.get(self._key(res, ns, name))
        if obj is None:
            raise not_found(res, name)
        return obj

    def _check_namespace(self, res: Resource, ns: str) -> None:
        if res.namespaced and self.store.get(("", "Namespace", "", ns)) is None:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})

    def _shape(self, res: Resource, ns: str, body: Any, name: str = "") -> Obj:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        if body.get("kind") not in (None, res.kind):
            raise ApiError(400, "BadRequest", f"kind {body.get('kind')!r} does not match {res.kind!r}")
        obj = copy.deepcopy(body)
        obj["kind"], obj["apiVersion"] = res.kind, res.api_version
        meta = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = meta
        if res.namespaced:
            if meta.get("namespace") not in (None, ns):
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if name and meta.get("name") not in (None, name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        if name:
            meta["name"] = name
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self.store.resource_version.zfill(5)[-5:]
        if not _DNS1123.match(str(meta.get("name") or "")) or len(str(meta["name"])) > 253:
            raise ApiError(
                422,
                "Invalid",
                f'{res.kind} "{meta.get("name", "")}" is invalid: metadata.name: Invalid value',
                {"name": meta.get("name", ""), "kind": res.kind},
            )
        return obj

    def create(self, res: Resource, ns: str, body: Any) -> Obj:
        obj = self._shape(res, ns, body)
        self._check_namespace(res, ns)
        obj["metadata"].pop("resourceVersion", None)
        return self.store.create(self.admit(obj, None))

    def replace(self, res: Resource, ns: str, name: str, body: Any, sub: str = "") -> Obj:
        old = self.get(res, ns, name)
        new = self._shape(res, ns, body, name)
        expected = new["metadata"].get("resourceVersion")
        return self._write(res, old, new, sub, expected)

    def patch(self, res: Resource, ns: str, name: str, ctype: str, body: Any, sub: str = "") -> Obj:
        old = self.store.get(self._key(res, ns, name))
        if old is None:
            if ctype.startswith(APPLY_PATCH) and not sub:
                return self.create(res, ns, body)
            raise not_found(res, name)
        new = self._shape(res, ns, apply_patch(ctype, old, body), name)
        expected = body.get("metadata", {}).get("resourceVersion") if isinstance(body, dict) else None
        return self._write(res, old, new, sub, expected)

    def _write(self, res: Resource, old: Obj, new: Obj, sub: str, expected: str | None) -> Obj:
        if res.has_status:
            # The status subresource writes only status; the main resource never does.
            if sub == "status":
                new = {**old, "status": new.get("status", {})}
            else:
                new["status"] = old.get("status", {})
        new = self.admit(new, old)
        return self.store.update(new, expected_rv=expected)

    def delete(self, res: Resource, ns: str, name: str) -> Obj:
        key = self._key(res, ns, name)
        if res.kind == "Namespace" and self.store.get(key) is not None:
            # Namespace deletion removes everything in it before the namespace itself.
            for r in RESOURCES:
                if r.namespaced:
                    for obj in self.store.list(r.kind, name):
                        self.store.delete(self._key(r, name, obj["metadata"]["name"]))
        return self.store.delete(key)

    # -- watch -----------------------------------------------------------------------------------

    def _publish(self, event: str, obj: Obj) -> None:
        for queue in self._watchers:
            queue.put_nowait((event, obj))

    async def _watch(self, request: web.Request, res: Resource, ns: str) -> web.StreamResponse:
        labels = label_selector(request.query.get("labelSelector"))
        fields = field_selector(request.query.get("fieldSelector"))
        timeout = float(request.query.get("timeoutSeconds", "300"))
        queue: asyncio.Queue[tuple[str, Obj]] = asyncio.Queue()
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        if request.query.get("resourceVersion") in (None, "", "0"):
            for obj in self._select(res, ns, request):
                queue.put_nowait(("ADDED", obj))
        self._watchers.add(queue)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while (left := deadline - loop.time()) > 0:
                try:
                    event, obj = await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    break
                meta = obj["metadata"]
                if obj["kind"] != res.kind or (ns and meta.get("namespace") != ns):
                    continue
                if labels(obj) and fields(obj):
                    await resp.write(json.dumps({"type": event, "object": obj}).encode() + b"\n")
        finally:
            self._watchers.discard(queue)
        with contextlib.suppress(ConnectionError):
            await resp.write_eof()
        return resp
