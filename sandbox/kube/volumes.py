"""The volume controllers' part of a pod's life: provision and bind each claim, attach, give the pod an IP."""

from __future__ import annotations

from sandbox.kube.ipam import allocate
from sandbox.kube.podstage import PodStage, claims, node_ip, set_condition
from sandbox.kube.scheduler import ZONE
from sandbox.kube.store import Obj, key_of


class VolumeControllers(PodStage):
    """persistentvolume-controller and attachdetach-controller, as far as a pod waits for them."""

    def _volumes_ready(self, pod: Obj) -> bool:
        """Bind each claim, then attach the volumes; True once the pod's sandbox is up."""
        if any(c["type"] == "PodReadyToStartContainers" and c["status"] == "True"
               for c in pod["status"].get("conditions") or []):
            return True
        ns, uid = pod["metadata"]["namespace"], pod["metadata"]["uid"]
        bound = True
        for claim in claims(pod):
            pvc = self.ctl.store.get(("", "PersistentVolumeClaim", ns, claim))
            if pvc is None:
                self.ctl.emit(pod, "FailedMount", f'persistentvolumeclaim "{claim}" not found', "Warning")
                self._retry(pod, "volumes")
                return False
            if (pvc.get("status") or {}).get("phase") != "Bound":
                bound = False
                self._provision(pvc, pod)
        if not bound:
            return False
        delay = 0.0
        if claims(pod):
            fault = self.ctl.faults.attach_delay(ns)
            delay = self.ctl.duration("volume_attach") * fault.factor + self.ctl.clock.scaled(fault.extra_seconds)
        self.ctl.after(f"{uid}:attach", delay, lambda: self._attached(key_of(pod)))
        return False

    def _provision(self, pvc: Obj, pod: Obj) -> None:
        sc_name = (pvc.get("spec") or {}).get("storageClassName")
        sc = self.ctl.store.get(("storage.k8s.io", "StorageClass", "", sc_name or ""))
        if sc is None:
            message = f'storageclass.storage.k8s.io "{sc_name}" not found' if sc_name else (
                "no persistent volumes available for this claim and no storage class is set")
            self.ctl.emit(pvc, "ProvisioningFailed", message, "Warning", "persistentvolume-controller")
            self._retry(pod, "provision")
            return
        key = key_of(pvc)
        self.ctl.after(f"{pvc['metadata']['uid']}:bind", self.ctl.duration("pvc_bind"),
                       lambda: self._bind(key, pod["spec"]["nodeName"], str(sc["provisioner"])))

    def _bind(self, key: tuple[str, str, str, str], node_name: str, provisioner: str) -> None:
        pvc = self.ctl.store.get(key)
        node = self.ctl.store.get(("", "Node", "", node_name))
        if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound":
            return
        uid, spec = pvc["metadata"]["uid"], pvc["spec"]
        zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(ZONE, "")
        size = spec["resources"]["requests"]["storage"]
        pv_name = f"pvc-{uid}"
        self.ctl.store.create({
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "labels": {ZONE: zone},
                         "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": spec.get("storageClassName"),
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": key[2], "name": key[3], "uid": uid},
                "csi": {"driver": provisioner, "volumeHandle": f"/disks/{pv_name}"},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": ZONE, "operator": "In", "values": [zone]}]}]}},
            },
            "status": {"phase": "Bound"},
        })
        spec["volumeName"] = pv_name
        pvc["metadata"].setdefault("annotations", {}).update({
            "pv.kubernetes.io/bind-completed": "yes",
            "volume.kubernetes.io/selected-node": node_name,
        })
        pvc["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                         "capacity": {"storage": size}}
        self.ctl.store.update(pvc)
        self.ctl.emit(pvc, "ProvisioningSucceeded", f"Successfully provisioned volume {pv_name}",
                      component="persistentvolume-controller")

    def _attached(self, key: tuple[str, str, str, str]) -> None:
        pod = self.ctl.store.get(key)
        if pod is None:
            return
        ns = pod["metadata"]["namespace"]
        for claim in claims(pod):
            pvc = self.ctl.store.get(("", "PersistentVolumeClaim", ns, claim)) or {}
            volume = (pvc.get("spec") or {}).get("volumeName", claim)
            self.ctl.emit(pod, "SuccessfulAttachVolume", f'AttachVolume.Attach succeeded for volume "{volume}"',
                          component="attachdetach-controller")
        used = [p["status"].get("podIP") for p in self.ctl.store.list("Pod")]
        used += [node_ip(n) for n in self.ctl.store.list("Node")]
        ip = allocate(self.ctl.pod_cidr, used)
        now = self._now()
        pod["status"].update(podIP=ip, podIPs=[{"ip": ip}], startTime=now)
        set_condition(pod, "PodReadyToStartContainers", True, now)
        set_condition(pod, "Initialized", not pod["spec"].get("initContainers"), now)
        self._set_containers(pod, {"waiting": {"reason": "ContainerCreating"}}, ready=False)
        self.ctl.store.update(pod)
