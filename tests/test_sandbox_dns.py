"""The sandbox's CoreDNS model reads server blocks the way CoreDNS does."""

from sandbox.dns import forward_zones, match_zone, parse_server_blocks

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
