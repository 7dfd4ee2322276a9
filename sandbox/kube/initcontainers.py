"""Init containers as the kubelet runs them: in order, each to completion, before the main container.

A container sees its image's files overlaid by its volume mounts; emptyDir volumes are writable and
outlive the container (the pod keeps them), and so are persistent volumes (the volume keeps them: a
new pod on the same claim finds them, a new claim starts empty). The sandbox runs `sh -c` lists of
`cp`, `mkdir`, `touch` and `true` (what an init container that prepares a config directory runs),
and one wait loop, `until [ -e PATH ]; do sleep N; done`: the container keeps running, testing the
path every N seconds, until something (an exec'd `touch`) creates it. Anything else fails as a
missing binary would.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.kube.podenv import configmap_data
from sandbox.kube.store import Obj, Store
from sandbox.ring.shell import ShellError, split

EmptyDirs = dict[str, dict[str, str]]  # volume name -> relative path -> text
VolumeFiles = dict[str, dict[str, str]]  # persistent volume name -> relative path -> text
_UNTIL = re.compile(r"until \[ -e (\S+) \]; do sleep (\d+(?:\.\d+)?); done")


class StillRunning(Exception):  # noqa: N818 - not an error: the container has not exited
    """The container is in its wait loop; the kubelet looks again after `sleep_s` seconds."""

    def __init__(self, sleep_s: float):
        super().__init__(f"waiting, next test in {sleep_s:g}s")
        self.sleep_s = sleep_s


@dataclass
class InitOutcome:
    """How far the pod's init containers got: `completed` of them exited 0; then one failed or still runs."""

    completed: int
    failure: str | None = None
    running: str | None = None
    sleep_s: float = 0.0


@dataclass
class _Fs:
    """One container's view: read-only files by absolute path, and emptyDir mounts (path -> volume)."""

    files: dict[str, str]
    writable: dict[str, str]
    dirs: EmptyDirs
    readonly_mounts: list[str] = field(default_factory=list)

    def _volume_of(self, path: str) -> tuple[str, str] | None:
        for mount, volume in sorted(self.writable.items(), key=lambda kv: -len(kv[0])):
            if path == mount or path.startswith(mount + "/"):
                return volume, path[len(mount) + 1:]
        return None

    def listing(self) -> dict[str, str]:
        out = dict(self.files)
        for mount, volume in self.writable.items():
            out.update({f"{mount}/{rel}": text for rel, text in self.dirs[volume].items()})
        return out

    def is_dir(self, path: str) -> bool:
        path = path.rstrip("/") or "/"
        return path in self.writable or any(p.startswith(path + "/") for p in self.listing())

    def write(self, path: str, text: str) -> str | None:
        where = self._volume_of(path)
        if where is None:
            if any(path.startswith(m + "/") for m in self.readonly_mounts):
                return f"cp: cannot create regular file '{path}': Read-only file system"
            self.files[path] = text  # the container's own layer: gone when it exits
            return None
        volume, rel = where
        self.dirs[volume][rel] = text
        return None


def _cp(fs: _Fs, args: list[str]) -> tuple[int, str]:
    paths = [a for a in args if not a.startswith("-")]
    if len(paths) != 2:
        return 1, "cp: the sandbox copies one source to one destination\n"
    src, dst = (posixpath.normpath(p) for p in paths)
    contents_of = paths[0].rstrip("/").endswith("/.")
    listing = fs.listing()
    if src in listing:
        target = f"{dst}/{posixpath.basename(src)}" if fs.is_dir(dst) else dst
        err = fs.write(target, listing[src])
        return (1, err + "\n") if err else (0, "")
    under = {p[len(src) + 1:]: t for p, t in listing.items() if p.startswith(src + "/")}
    if not under:
        return 1, f"cp: cannot stat '{paths[0]}': No such file or directory\n"
    if not any(a.startswith("-") and set(a[1:]) & set("arR") for a in args):
        return 1, f"cp: -r not specified; omitting directory '{paths[0]}'\n"
    base = dst if contents_of or not fs.is_dir(dst) else f"{dst}/{posixpath.basename(src)}"
    for rel, text in sorted(under.items()):
        err = fs.write(f"{base}/{rel}", text)
        if err:
            return 1, err + "\n"
    return 0, ""


def _touch(fs: _Fs, args: list[str]) -> tuple[int, str]:
    for path in (posixpath.normpath(a) for a in args if not a.startswith("-")):
        if path not in fs.listing():
            err = fs.write(path, "")
            if err:
                return 1, err.replace("cp: cannot create regular file", "touch: cannot touch") + "\n"
    return 0, ""


def _run(fs: _Fs, argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    prog, args = posixpath.basename(argv[0]), argv[1:]
    if prog in ("sh", "bash") and args[:1] == ["-c"] and len(args) >= 2:
        loop = _UNTIL.fullmatch(args[1].strip())
        if loop is not None:
            path = posixpath.normpath(loop.group(1))
            if path in fs.listing() or fs.is_dir(path):
                return 0, ""
            raise StillRunning(float(loop.group(2)))
        try:
            commands = split(args[1], env)
        except ShellError as e:
            return 2, f"{e}\n"
        rc, err = 0, ""
        for connector, words in commands:
            if connector == "&&" and rc != 0:
                continue
            rc, more = _run(fs, words, env)
            err += more
        return rc, err
    if prog == "cp":
        return _cp(fs, args)
    if prog == "touch":
        return _touch(fs, args)
    if prog in ("true", "mkdir"):
        return 0, ""
    return 127, f"sh: 1: {argv[0]}: not found\n"


def _literal_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's env given as values (the init containers here take nothing from the API)."""
    return {e["name"]: str(e["value"]) for e in container.get("env") or [] if "value" in e}


def _container_fs(store: Store, pod: Obj, container: dict[str, Any], image_files: Any, dirs: EmptyDirs,
                  volume_files: VolumeFiles) -> _Fs:
    """The container's files: its image's, overlaid by its mounts (emptyDirs and bound claims writable)."""
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    files = dict(image_files(container.get("image", "")))
    writable, readonly = {}, []
    view = dict(dirs)  # the pod's emptyDirs, and the claims' volumes (kept by the volume, not the pod)
    for mount in container.get("volumeMounts") or []:
        path = mount["mountPath"].rstrip("/")
        volume = volumes.get(mount["name"]) or {}
        if "emptyDir" in volume or "persistentVolumeClaim" in volume:
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                pvc = store.get(("", "PersistentVolumeClaim", pod["metadata"]["namespace"], claim)) or {}
                pv = (pvc.get("spec") or {}).get("volumeName") or ""
                view[mount["name"]] = volume_files.setdefault(pv, {})
            writable[path] = mount["name"]
            files = {p: t for p, t in files.items() if not p.startswith(path + "/")}
        elif "configMap" in volume:
            files.update(configmap_data(store, pod, volume["configMap"], mount))
            readonly.append(path)
    return _Fs(files, writable, view, readonly)


def run_init_containers(store: Store, pod: Obj, image_files: Any, dirs: EmptyDirs, volume_files: VolumeFiles,
                        start: int = 0) -> InitOutcome:
    """Run the pod's init containers in order from `start` over its emptyDirs (changed in place) and its
    persistent volumes' files (`volume_files`, by volume name); stops at the first that fails or still runs.

    `image_files(image)` gives an image's own files by absolute path.
    """
    for name, volume in ((v["name"], v) for v in pod["spec"].get("volumes") or []):
        if "emptyDir" in volume:
            dirs.setdefault(name, {})
    inits = pod["spec"].get("initContainers") or []
    for index in range(start, len(inits)):
        container = inits[index]
        command = list(container.get("command") or []) + list(container.get("args") or [])
        if not command:
            continue
        env = _literal_env(container)
        fs = _container_fs(store, pod, container, image_files, dirs, volume_files)
        try:
            rc, err = _run(fs, command, env)
        except StillRunning as running:
            return InitOutcome(index, running=container["name"], sleep_s=running.sleep_s)
        if rc != 0:
            return InitOutcome(index, failure=f"init container {container['name']} exited with {rc}: {err.strip()}")
    return InitOutcome(len(inits))


def exec_in_init_container(store: Store, pod: Obj, name: str, argv: list[str], image_files: Any,
                           dirs: EmptyDirs, volume_files: VolumeFiles) -> tuple[int, str]:
    """`kubectl exec -c <init container>`: the command runs over that container's files; (exit code, stderr)."""
    container = next(c for c in pod["spec"].get("initContainers") or [] if c["name"] == name)
    env = _literal_env(container)
    try:
        return _run(_container_fs(store, pod, container, image_files, dirs, volume_files), argv, env)
    except StillRunning:
        return 1, "the sandbox does not run a wait loop from exec\n"


def mounted_files(store: Store, pod: Obj, container: dict[str, Any], dirs: EmptyDirs) -> dict[str, str]:
    """What a container finds under its mounts: ConfigMap keys and emptyDir contents, by absolute path."""
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    out: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"]) or {}
        path = mount["mountPath"].rstrip("/")
        if "configMap" in volume:
            out.update(configmap_data(store, pod, volume["configMap"], mount))
        elif "emptyDir" in volume:
            out.update({f"{path}/{rel}": text for rel, text in dirs.get(mount["name"], {}).items()})
    return out
