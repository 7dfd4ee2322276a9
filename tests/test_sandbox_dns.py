"""The sandbox's CoreDNS model reads server blocks the way CoreDNS does."""

from sandbox.dns import forward_zones, match_zone, parse_server_blocks
from sandbox.ring.cluster import RingSim
from sandbox.ring.network import InMemoryNetwork
from sandbox.runtime import CassandraRuntime

AKS_CUSTOM = {
    "multidc-dc2.server": "dc2.svc.cluster.local:53 {\n    errors\n    cache 30\n    forward . 10.2.0.250\n}\n",
    "log.override": "log\n",
}

SEED_BLOG_COREFILE = """.:53 {
errors
health
kubernetes cluster.local in-addr.arpa ip6.arpa {
pods insecure
fallthrough in-addr.arpa ip6.arpa
}
forward . /etc/resolv.conf
cache 30
}
azure-1.svc.cluster.local {
forward . 10.19.1.5:32478
}
"""


def test_coredns_custom_server_key_declares_a_forward_zone() -> None:
    zones = forward_zones(None, AKS_CUSTOM)
    assert [(z.zone, z.upstreams) for z in zones] == [("dc2.svc.cluster.local.", (("10.2.0.250", 53),))]


def test_corefile_catch_all_is_not_a_forward_zone_but_stub_blocks_are() -> None:
    zones = parse_server_blocks(SEED_BLOG_COREFILE)
    assert [(z.zone, z.upstreams) for z in zones] == [("azure-1.svc.cluster.local.", (("10.19.1.5", 32478),))]


def test_longest_zone_wins_and_other_namespaces_do_not_match() -> None:
    zones = forward_zones("svc.cluster.local {\n forward . 1.1.1.1\n}\n", AKS_CUSTOM)
    hit = match_zone("cassandra-rack1-0.cassandra.dc2.svc.cluster.local", zones)
    assert hit is not None and hit.upstreams == (("10.2.0.250", 53),)
    assert match_zone("x.cassandra.dc22.svc.cluster.local", forward_zones(None, AKS_CUSTOM)) is None


def test_override_keys_and_removed_proxy_plugin_do_not_forward() -> None:
    # The seed blog's `proxy` plugin was removed from CoreDNS: it forwards nothing.
    custom = {
        "old.server": "dc3.svc.cluster.local {\n proxy . 10.3.0.250\n}\n",
        "x.override": "forward . 9.9.9.9\n",
    }
    assert forward_zones(None, custom) == []


def test_getent_in_a_probe_pod_answers_every_key_it_finds_and_exits_2_when_one_is_missing() -> None:
    net = InMemoryNetwork()
    net.add("c1", "10.1.0.5")  # the probe pod
    net.add("c1", "10.1.0.10", "a-0.cassandra.dc1.svc.cluster.local")
    net.add("c2", "10.2.0.10", "b-0.cassandra.dc2.svc.cluster.local")
    runtime = CassandraRuntime(RingSim(net), net)
    probe = {"metadata": {"name": "multidc-dns-probe"}, "spec": {"containers": [{"image": "debian:bookworm-slim"}]},
             "status": {"podIP": "10.1.0.5"}}
    names = ["a-0.cassandra.dc1.svc.cluster.local", "b-0.cassandra.dc2.svc.cluster.local"]
    alone = runtime.exec("c1", probe, "probe", ["getent", "hosts", *names], {})
    assert (alone.returncode, alone.stdout.split()) == (2, ["10.1.0.10", names[0]])  # dc2 not linked yet
    net.link("c1", "c2")
    both = runtime.exec("c1", probe, "probe", ["getent", "hosts", *names], {})
    assert (both.returncode, both.stdout.split()) == (0, ["10.1.0.10", names[0], "10.2.0.10", names[1]])
