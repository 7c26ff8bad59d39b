from __future__ import annotations

import time
import uuid

from smsgate.core.ids import new_id, new_ids


def test_ids_are_version7_uuids_unique_and_in_order() -> None:
    before = time.time()
    ids = [new_id() for _ in range(20_000)]  # several refills of the random pool
    after = time.time()
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # time-ordered: the id index only ever appends
    for text in ids[:2000]:
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
    stamp_ms = int(ids[0].replace("-", "")[:12], 16)
    assert before * 1000 - 1 <= stamp_ms <= after * 1000 + 1


def test_ids_are_unguessable() -> None:
    ids = [new_id() for _ in range(2000)]
    # the random tail (last 16 hex digits, minus the variant's fixed bits) varies everywhere
    for position in (20, 25, 30, 35):
        assert len({i[position] for i in ids}) > 8


def test_a_forked_child_draws_other_ids() -> None:
    import os

    new_id()  # fill the pool in the parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, (new_id() + new_ids(1)[0]).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 128).decode()
    os.close(read)
    os.close(write)
    mine = new_id() + new_ids(1)[0]
    # the random tails differ: the pool was not shared, by single ids nor by small requests
    assert child[20:36] != mine[20:36] and child[56:] != mine[56:]


def test_ids_made_in_bulk_are_the_same_kind_and_keep_the_order() -> None:
    before = time.time()
    ids = [new_id(), *new_ids(10_000), new_id(), *new_ids(3), *new_ids(0), new_id()]
    after = time.time()
    assert len(ids) == 10_006 and len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # more than 4,096 in a millisecond borrow the next one, in order
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
    stamp_ms = int(ids[1].replace("-", "")[:12], 16)
    assert before * 1000 - 1 <= stamp_ms <= after * 1000 + 1
    for position in (20, 25, 30, 35):
        assert len({i[position] for i in ids[1:2001]}) > 8
