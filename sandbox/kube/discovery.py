"""Discovery documents (/api, /apis, /api/v1, /apis/<group>/<version>, /version) as kube-apiserver 1.31 serves them.

Short names, categories, verbs and subresources are those of the real registries
(kubernetes/kubernetes pkg/registry/*/rest.go: ShortNames(), Categories(); `kubectl api-resources -o wide`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.kube.store import RESOURCES, Obj, Resource

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

CRUD = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS = ["get", "patch", "update"]


@dataclass(frozen=True)
class Meta:
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(CRUD)
    # subresource -> (kind it answers with, its verbs)
    subresources: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


_STATUS_ONLY = {"status": ("", tuple(STATUS))}
_SCALE = {"scale": ("autoscaling/v1:Scale", tuple(STATUS)), **_STATUS_ONLY}
META: dict[str, Meta] = {
    "Namespace": Meta(("ns",), (), ("create", "delete", "get", "list", "patch", "update", "watch"),
                      {"status": ("", tuple(STATUS)), "finalize": ("", ("update",))}),
    "ConfigMap": Meta(("cm",)),
    "Secret": Meta(),
    "ServiceAccount": Meta(("sa",), (), tuple(CRUD), {"token": ("authentication.k8s.io/v1:TokenRequest", ("create",))}),
    "Service": Meta(("svc",), ("all",), tuple(CRUD), _STATUS_ONLY),
    "Endpoints": Meta(("ep",)),
    "Pod": Meta(("po",), ("all",), tuple(CRUD), {
        "status": ("", tuple(STATUS)),
        "log": ("", ("get",)),
        "exec": ("PodExecOptions", ("create", "get")),
    }),
    "PersistentVolumeClaim": Meta(("pvc",), (), tuple(CRUD), _STATUS_ONLY),
    "PersistentVolume": Meta(("pv",), (), tuple(CRUD), _STATUS_ONLY),
    "Event": Meta(("ev",)),
    "Node": Meta(("no",), (), tuple(CRUD), _STATUS_ONLY),
    "StatefulSet": Meta(("sts",), ("all",), tuple(CRUD), _SCALE),
    "Deployment": Meta(("deploy",), ("all",), tuple(CRUD), _SCALE),
    "PodDisruptionBudget": Meta(("pdb",), (), tuple(CRUD), _STATUS_ONLY),
    "NetworkPolicy": Meta(("netpol",)),
    "StorageClass": Meta(("sc",)),
}

# Create-only review APIs the server answers without storing anything (kubectl auth can-i).
REVIEWS: dict[tuple[str, str], list[Obj]] = {
    ("authorization.k8s.io", "v1"): [
        {"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview", "namespaced": False,
         "kind": "SelfSubjectAccessReview", "verbs": ["create"]},
        {"name": "selfsubjectrulesreviews", "singularName": "selfsubjectrulesreview", "namespaced": False,
         "kind": "SelfSubjectRulesReview", "verbs": ["create"]},
    ],
}


def group_versions() -> list[tuple[str, str]]:
    """Every (group, version) served, core ("", "v1") first."""
    named = sorted({(r.group, r.version) for r in RESOURCES if r.group} | set(REVIEWS))
    return [("", "v1"), *named]


def _entries(res: Resource) -> list[Obj]:
    meta = META.get(res.kind, Meta())
    main: Obj = {"name": res.plural, "singularName": res.kind.lower(), "namespaced": res.namespaced,
                 "kind": res.kind, "verbs": list(meta.verbs)}
    if meta.short_names:
        main["shortNames"] = list(meta.short_names)
    if meta.categories:
        main["categories"] = list(meta.categories)
    out = [main]
    for sub, (kind, verbs) in meta.subresources.items():
        entry: Obj = {"name": f"{res.plural}/{sub}", "singularName": "", "namespaced": res.namespaced,
                      "kind": res.kind, "verbs": list(verbs)}
        if ":" in kind:
            gv, entry["kind"] = kind.split(":")
            entry["group"], entry["version"] = gv.split("/")
        elif kind:
            entry["kind"] = kind
        out.append(entry)
    return out


def resource_list(group: str, version: str) -> Obj:
    resources: list[Obj] = []
    for res in RESOURCES:
        if (res.group, res.version) == (group, version):
            resources += _entries(res)
    resources += REVIEWS.get((group, version), [])
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


def _group(group: str, version: str) -> Obj:
    gv = {"groupVersion": f"{group}/{version}", "version": version}
    return {"name": group, "versions": [gv], "preferredVersion": gv}


def document(path: str) -> Obj | None:
    """The discovery document at this path, or None when the path is not a discovery path."""
    if path == "/version":
        return dict(VERSION_INFO)
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}
    named = group_versions()[1:]
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, v) for g, v in named]}
    for group, version in group_versions():
        if group and path == f"/apis/{group}":
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, version)}
        if path == (f"/apis/{group}/{version}" if group else f"/api/{version}"):
            return resource_list(group, version)
    return None
