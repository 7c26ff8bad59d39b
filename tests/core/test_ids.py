from __future__ import annotations

import uuid

from smsgate.core.ids import new_id


def test_ids_are_random_version4_uuids_and_unique() -> None:
    ids = [new_id() for _ in range(20_000)]  # several refills of the random pool
    assert len(set(ids)) == len(ids)
    for text in ids[:2000]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
    # every hex digit position outside the fixed version/variant nibbles varies
    for position in (0, 9, 15, 20, 35):
        assert len({i[position] for i in ids[:2000]}) > 8
