"""What the kubelet hands a container: env resolved from values, fields, Secrets and ConfigMaps; mounted files."""

from __future__ import annotations

import base64
from typing import Any

from sandbox.kube.store import Obj, Store


def resolve_env(store: Store, pod: Obj, container: dict[str, Any]) -> dict[str, str]:
    """Container env the way the kubelet builds it; a missing Secret/ConfigMap raises LookupError."""
    ns = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    # envFrom comes first; explicit env entries override it, as in the kubelet.
    for source in container.get("envFrom") or []:
        is_secret = "secretRef" in source
        ref = source.get("secretRef") or source.get("configMapRef") or {}
        obj = store.get(("", "Secret" if is_secret else "ConfigMap", ns, ref.get("name", "")))
        if obj is None:
            if ref.get("optional"):
                continue
            raise LookupError(f'{"secret" if is_secret else "configmap"} "{ref.get("name")}" not found')
        for key, value in (obj.get("data") or {}).items():
            env[source.get("prefix", "") + key] = base64.b64decode(value).decode() if is_secret else value
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        source = item.get("valueFrom") or {}
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            fields = {"status.podIP": pod["status"].get("podIP"), "metadata.name": pod["metadata"]["name"],
                      "metadata.namespace": ns, "spec.nodeName": pod["spec"].get("nodeName"),
                      "status.hostIP": pod["status"].get("hostIP")}
            env[item["name"]] = str(fields.get(path) or "")
        elif "secretKeyRef" in source or "configMapKeyRef" in source:
            is_secret = "secretKeyRef" in source
            ref = source["secretKeyRef" if is_secret else "configMapKeyRef"]
            kind = "Secret" if is_secret else "ConfigMap"
            obj = store.get(("", kind, ns, ref["name"]))
            data = (obj or {}).get("data") or {}
            if obj is None or ref["key"] not in data:
                if ref.get("optional"):
                    continue
                what = "secret" if is_secret else "configmap"
                raise LookupError(f'{what} "{ref["name"]}" not found' if obj is None
                                  else f"couldn't find key {ref['key']} in {kind} {ns}/{ref['name']}")
            value = data[ref["key"]]
            env[item["name"]] = base64.b64decode(value).decode() if is_secret else value
    return env


def configmap_files(store: Store, pod: Obj) -> dict[str, str]:
    """ConfigMap volume contents by `<mountPath>/<key>` over all containers; missing map: LookupError."""
    volumes = {v["name"]: v["configMap"] for v in pod["spec"].get("volumes") or [] if v.get("configMap")}
    out: dict[str, str] = {}
    for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]:
        for mount in c.get("volumeMounts") or []:
            if mount["name"] in volumes:
                out.update(configmap_data(store, pod, volumes[mount["name"]], mount))
    return out


def configmap_data(store: Store, pod: Obj, source: dict[str, Any], mount: dict[str, Any]) -> dict[str, str]:
    """One ConfigMap volume as a container sees it at `mount`, by absolute path; missing map: LookupError."""
    cm = store.get(("", "ConfigMap", pod["metadata"]["namespace"], source["name"]))
    if cm is None:
        raise LookupError(f'MountVolume.SetUp failed for volume "{mount["name"]}" : configmap '
                          f'"{source["name"]}" not found')
    data = cm.get("data") or {}
    paths = {i["key"]: i["path"] for i in source.get("items") or []} or {k: k for k in data}
    out: dict[str, str] = {}
    for key, rel in paths.items():
        if mount.get("subPath"):
            if mount["subPath"] == rel and key in data:
                out[mount["mountPath"]] = data[key]
        elif key in data:
            out[f"{mount['mountPath'].rstrip('/')}/{rel}"] = data[key]
    return out
