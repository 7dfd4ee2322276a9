"""HTTP routing of the emulated API server: discovery, CRUD, patch, watch, Status errors and auth."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.kube import discovery, managed, openapi
from sandbox.kube.logs import LogsOf, pod_log
from sandbox.kube.patch import APPLY_PATCH, apply_patch
from sandbox.kube.selectors import field_selector, label_selector
from sandbox.kube.store import BY_PLURAL, RESOURCES, ApiError, Obj, Resource, Store, not_found
from sandbox.kube.tables import table, wants_table
from sandbox.kube.watch import WatchHub, watch_requested

Admit = Callable[[Obj, Obj | None], Obj]
ExecHandler = Callable[[web.Request, Obj], Awaitable[web.StreamResponse]]

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass(frozen=True)
class Writer:
    """Who writes (fieldManager), how (Apply or Update), the applied configuration and force."""

    manager: str
    operation: str
    applied: Obj | None = None
    force: bool = False


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


def _scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = ",".join(f"{k}={v}" for k, v in sorted(((obj["spec"].get("selector") or {}).get("matchLabels") or {})
                                                      .items()))
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": selector}}


def _long_running(request: web.Request) -> bool:
    """Requests the in-flight limit never refuses: watches, exec and logs (apiserver's longRunningRequestCheck)."""
    return watch_requested(request.query) or request.path.rstrip("/").endswith(("/exec", "/log"))


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

    def __init__(self, store: Store, token: str, admit: Admit, exec_handler: ExecHandler, now: Callable[[], float],
                 logs_of: LogsOf | None = None, throttled: Callable[[str, str], bool] | None = None):
        self.store, self.token, self.admit, self.exec_handler, self.now = store, token, admit, exec_handler, now
        self.throttled = throttled or (lambda method, path: False)
        self.logs_of: LogsOf = logs_of or (lambda pod, container: [])
        self.request_log: list[dict[str, Any]] = []
        self.watch = WatchHub(store)

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
            if not _long_running(request) and self.throttled(request.method, request.path):
                # kube-apiserver's tooManyRequests (server/filters/maxinflight.go): plain text, Retry-After 1.
                status = 429
                return web.Response(status=429, text="Too many requests, please try again later.",
                                    headers={"Retry-After": "1"})
            resp = await handler(request)
            status = resp.status
            return resp
        except ApiError as exc:
            status = exc.code
            return _json(exc.status(), exc.code)
        finally:
            self.request_log.append(
                {"time": self.now(), "method": request.method, "path": request.path, "status": status,
                 "watch": watch_requested(request.query)}
            )
            if len(self.request_log) > 20000:  # a long-running sandbox keeps the recent half
                del self.request_log[:10000]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        if path in ("/healthz", "/readyz", "/livez"):
            return web.Response(text="ok")
        spec = openapi.document(path, request.headers.get("Accept", ""))
        if spec is not None:
            return web.Response(body=spec, content_type="application/json")
        doc = discovery.document(path)
        if doc is not None:
            return _json(doc)
        if path == SSAR and request.method == "POST":
            return _json(self._access_review(await self._body(request)), 201)
        res, ns, name, sub = _parse(path)
        if res.kind == "Pod" and sub in ("exec", "log"):
            pod = self.store.get(("", "Pod", ns, name))
            if pod is None:
                raise not_found(res, name)
            if sub == "log" and request.method == "GET":
                return await pod_log(request, pod, self.logs_of, lambda: self.store.get(("", "Pod", ns, name)))
            if sub == "exec":
                return await self.exec_handler(request, pod)
        method, query = request.method, request.query
        table_of = self._table_of(request, res)
        if not name:
            if method == "GET" and watch_requested(query):
                fields, labels = field_selector(query.get("fieldSelector")), label_selector(query.get("labelSelector"))
                return await self.watch.serve(
                    request, res, ns, lambda o: labels(o) and fields(o), lambda: self._select(res, ns, request),
                    lambda o: table_of([o]) if table_of else o)
            if method == "GET":
                listed = self._list(res, ns, request)
                return _json(table_of(listed["items"], listed["metadata"]) if table_of else listed)
            if method == "POST":
                body = await self._body(request)
                self._validate(res, body, query)
                return _json(self.create(res, ns, body, self._writer(request)), 201)
            if method == "DELETE":
                for obj in self._select(res, ns, request):
                    self.delete(res, ns or obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        elif sub == "scale" and res.kind in ("StatefulSet", "Deployment") and method in ("GET", "PUT", "PATCH"):
            return _json(await self._scale(request, res, ns, name))
        elif sub in ("", "status"):
            if method == "GET":
                obj = self.get(res, ns, name)
                return _json(table_of([obj]) if table_of else obj)
            if method == "PUT":
                body = await self._body(request)
                self._validate(res, body, query)
                return _json(self.replace(res, ns, name, body, sub, self._writer(request)))
            if method == "PATCH":
                ctype = request.headers.get("Content-Type", "application/merge-patch+json")
                body = await self._body(request)
                self._validate(res, body, query)
                return _json(self.patch(res, ns, name, ctype, body, sub, self._writer(request, ctype, body)))
            if method == "DELETE" and not sub:
                return _json(_success(res, self.delete(res, ns, name)))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _table_of(self, request: web.Request, res: Resource) -> Callable[..., Obj] | None:
        """A Table maker when the client asked for server-side printing (kubectl get), else None."""
        if not wants_table(request.headers.get("Accept", "")):
            return None
        include = request.query.get("includeObject", "PartialObjectMetadata")

        def make(items: list[Obj], list_meta: Obj | None = None) -> Obj:
            meta = list_meta or {"resourceVersion": items[0]["metadata"].get("resourceVersion", "") if items else ""}
            return table(res.kind, items, self.now(), meta, include)

        return make

    async def _scale(self, request: web.Request, res: Resource, ns: str, name: str) -> Obj:
        """The scale subresource: an autoscaling/v1 Scale view of spec.replicas (kubectl scale)."""
        obj = self.get(res, ns, name)
        if request.method != "GET":
            body = await self._body(request)
            current = _scale_of(obj)
            if request.method == "PATCH":
                ctype = request.headers.get("Content-Type", "application/merge-patch+json")
                body = apply_patch(ctype, current, body)
            replicas = ((body or {}).get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value')
            obj = self.patch(res, ns, name, "application/merge-patch+json", {"spec": {"replicas": replicas}},
                             who=self._writer(request))
        return _scale_of(obj)

    @staticmethod
    def _writer(request: web.Request, ctype: str = "", body: Any = None) -> Writer:
        apply = ctype.startswith(APPLY_PATCH)
        manager = managed.manager_of(request.query, request.headers.get("User-Agent", ""))
        if apply and not request.query.get("fieldManager"):
            raise ApiError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                           "is required for apply patch")
        return Writer(manager, "Apply" if apply else "Update", body if apply and isinstance(body, dict) else None,
                      request.query.get("force") in ("true", "1"))

    @staticmethod
    def _validate(res: Resource, body: Any, query: Any) -> None:
        """fieldValidation=Strict: unknown fields are a 400 (a JSON patch is a list of ops, not checked)."""
        if isinstance(body, dict):
            openapi.check_strict(res, body, query.get("fieldValidation"))

    @staticmethod
    def _access_review(body: Any) -> Obj:
        """SelfSubjectAccessReview: the sandbox's one user is cluster-admin, so every request is allowed."""
        if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
            raise ApiError(400, "BadRequest", "the request body must be a SelfSubjectAccessReview with a spec")
        review = dict(body)
        review.setdefault("metadata", {})
        review["kind"], review["apiVersion"] = "SelfSubjectAccessReview", "authorization.k8s.io/v1"
        review["status"] = {"allowed": True, "reason": 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of '
                            'ClusterRole "cluster-admin" to User "clusterAdmin"'}
        return review

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

    def create(self, res: Resource, ns: str, body: Any, who: Writer | None = None) -> Obj:
        obj = self._shape(res, ns, body)
        self._check_namespace(res, ns)
        obj["metadata"].pop("resourceVersion", None)
        obj = self.admit(obj, None)
        if who is not None:
            obj = managed.record(obj, None, who.manager, who.operation, self.now(), who.applied, who.force)
        return self.store.create(obj)

    def replace(self, res: Resource, ns: str, name: str, body: Any, sub: str = "", who: Writer | None = None) -> Obj:
        old = self.get(res, ns, name)
        new = self._shape(res, ns, body, name)
        expected = new["metadata"].get("resourceVersion")
        return self._write(res, old, new, sub, expected, who)

    def patch(self, res: Resource, ns: str, name: str, ctype: str, body: Any, sub: str = "",
              who: Writer | None = None) -> Obj:
        old = self.store.get(self._key(res, ns, name))
        if old is None:
            if ctype.startswith(APPLY_PATCH) and not sub:
                return self.create(res, ns, body, who)
            raise not_found(res, name)
        new = self._shape(res, ns, apply_patch(ctype, old, body), name)
        expected = body.get("metadata", {}).get("resourceVersion") if isinstance(body, dict) else None
        return self._write(res, old, new, sub, expected, who)

    def _write(self, res: Resource, old: Obj, new: Obj, sub: str, expected: str | None,
               who: Writer | None = None) -> Obj:
        if res.has_status:
            # The status subresource writes only status; the main resource never does.
            if sub == "status":
                new = {**old, "status": new.get("status", {})}
            elif "status" in old:
                new["status"] = old["status"]
            else:  # an object created without status keeps none: a no-op write must stay a no-op
                new.pop("status", None)
        new = self.admit(new, old)
        if who is not None and sub != "status":
            new = managed.record(new, old, who.manager, who.operation, self.now(), who.applied, who.force)
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
