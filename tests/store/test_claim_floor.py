"""Where a PostgreSQL claim starts in messages_due (store/claim_floor.py): pure."""

from __future__ import annotations

from smsgate.store.claim_floor import ClaimFloor


def after_a_short_claim(*seqs: int, skipped: bool = False) -> ClaimFloor:
    """A floor (slack 10, the head every second) after a claim from the head at 100.0 that
    took `seqs` of the 50 it asked for."""
    floor = ClaimFloor(slack=10, full_every=1.0)
    assert floor.start(100.0) == 0  # the first claim walks from the head
    floor.claimed(0, 50, list(seqs), skipped=skipped)
    return floor


def test_a_short_claim_moves_the_floor_to_its_last_message_less_the_slack() -> None:
    floor = after_a_short_claim(500, 520, 530)
    assert floor.start(100.1) == 520
    floor.claimed(520, 50, [], skipped=False)  # nothing: the floor stays
    assert floor.start(100.2) == 520


def test_the_head_is_walked_again_every_full_every_seconds() -> None:
    floor = after_a_short_claim(500)
    assert floor.start(100.9) == 490
    assert floor.start(101.0) == 0  # a message come due below the floor waits no longer
    floor.claimed(0, 50, [], skipped=False)
    assert floor.start(101.5) == 490


def test_a_full_claim_from_the_head_keeps_the_next_at_the_head() -> None:
    """A backlog: what follows may be numbered lower, at a lower priority."""
    floor = ClaimFloor(slack=10, full_every=1.0)
    floor.start(100.0)
    floor.claimed(0, 2, [900, 901], skipped=False)
    assert floor.start(100.1) == 0


def test_a_full_claim_from_the_floor_keeps_the_floor() -> None:
    floor = after_a_short_claim(500)
    floor.claimed(490, 2, [900, 901], skipped=False)
    assert floor.start(100.1) == 490


def test_skipped_accounts_keep_the_floor_below_their_messages() -> None:
    assert after_a_short_claim(500, skipped=True).start(100.1) == 0


def test_a_reset_walks_from_the_head_at_once() -> None:
    floor = after_a_short_claim(500)
    floor.reset()
    assert floor.start(100.1) == 0
