"""Kept: a loaded value is reused within its lifetime, loaded again after it or once forgotten."""

from blocks.kept import Kept


def test_a_kept_value_is_reused_then_reloaded_when_forgotten_or_expired() -> None:
    loads: list[int] = []

    def load() -> int:
        loads.append(len(loads))
        return len(loads)

    kept: Kept[int] = Kept(3600)
    assert [kept.get("a", load), kept.get("a", load)] == [1, 1]
    assert kept.get("b", load) == 2  # by name
    kept.forget("a")
    assert kept.get("a", load) == 3
    expired: Kept[int] = Kept(0)
    assert [expired.get("a", load), expired.get("a", load)] == [4, 5]
    assert len(loads) == 5
