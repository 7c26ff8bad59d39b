"""Delivery receipts matched to the messages they report on, by the SMSC's message id.

A submit_sm_resp brings the SMSC's id for one part of a message; a deliver_sm receipt later
names that id. The two come in different PDUs, maybe on different sessions, and some SMSCs send
the receipt first. A receipt whose id no resp has brought yet is held, with whatever its caller
needs to answer it later, until a resp brings the id (:meth:`ReceiptMatcher.acknowledged` hands
it back) or until ``early_wait`` passes (:meth:`ReceiptMatcher.expired` hands it back, and the
caller looks the id up in the store).

Ids are normalised, and where the SMSC writes them in one base in resps and another in receipts,
indexed under every form the configured conversions allow (smsgate.smpp.receipt.id_variants).
A message sent in several parts has an id per part; its final status is the worst of its parts'
receipts, reported once every part has one.

Bookkeeping only: no clock (``now`` comes in), no I/O, no event loop. The SMPP connector keeps
the sessions, the replies and the store look-ups.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..core.errors import ErrorCode
from ..core.models import Message, Report
from ..core.status import DELIVERED, SUBMITTED, Status
from ..smpp.receipt import id_variants, normalize_id

__all__ = ["RECEIPT_STATUS", "Early", "Receipt", "ReceiptMatcher", "Sent", "stored_report"]

Receipt = tuple[str, str, str]  # id, stat, err, as the receipt gives them
Token = TypeVar("Token")

RECEIPT_STATUS: dict[str, tuple[Status, ErrorCode | None]] = {
    "DELIVRD": (Status.DELIVERED, None),
    "UNDELIV": (Status.UNDELIVERED, ErrorCode.NETWORK_ERROR),
    "DELETED": (Status.UNDELIVERED, ErrorCode.NETWORK_ERROR),
    "EXPIRED": (Status.EXPIRED, ErrorCode.EXPIRED),
    "REJECTD": (Status.REJECTED, ErrorCode.CARRIER_REJECTED),
    "UNKNOWN": (Status.UNKNOWN, None),
}
# Which part's outcome is the message's: a higher rank wins (an unlisted status ranks highest).
_RANK = {Status.DELIVERED: 0, Status.UNKNOWN: 1, Status.EXPIRED: 2, Status.UNDELIVERED: 3}
# A status's error code, the first RECEIPT_STATUS names for it; bound once (core.status says
# why a Status attribute is costly).
_ERROR: dict[Status, str | None] = {
    s: next((e.value for t, e in RECEIPT_STATUS.values() if t is s and e is not None), None)
    for s, _e in RECEIPT_STATUS.values()
}


@dataclass(slots=True)
class Sent:
    """A message handed to the SMSC: its parts' ids and the receipts seen so far."""

    message: Message
    parts: int
    ids: list[str | None]
    in_submit: bool = True  # submit() has not returned: SUBMITTED is not recorded yet
    error: int = 0  # a part's refusal (command_status), set by the connector
    finals: dict[int, tuple[Status, str]] = field(default_factory=dict)  # part -> status, err
    at: float = 0.0


@dataclass(slots=True)
class Early(Generic[Token]):
    """A receipt that came before the resp bringing its id, and what answers it."""

    receipt: Receipt
    token: Token
    at: float


class ReceiptMatcher(Generic[Token]):
    """Carrier ids of the messages in flight, and the receipts waiting for theirs."""

    def __init__(
        self,
        *,
        hex_to_dec: bool = False,
        dec_to_hex: bool = False,
        early_wait: float = 5.0,
        id_memory: float = 86400.0,
    ) -> None:
        self._hex_to_dec = hex_to_dec
        self._dec_to_hex = dec_to_hex
        self.early_wait = early_wait
        self.id_memory = id_memory
        self._sent: dict[str, Sent] = {}  # message id -> sent
        self._ids: dict[str, tuple[Sent, int]] = {}  # normalised carrier id -> (sent, part)
        self._early: dict[str, list[Early[Token]]] = {}  # normalised receipt id -> held

    def variants(self, carrier_id: str) -> Collection[str]:
        """The forms to index `carrier_id` under: its normal form alone where no conversion is
        configured (the default), without building a set twice a message (its resp, then its
        forgetting)."""
        if not (self._hex_to_dec or self._dec_to_hex):
            return (normalize_id(carrier_id),)
        return id_variants(carrier_id, hex_to_dec=self._hex_to_dec, dec_to_hex=self._dec_to_hex)

    def candidates(self, receipt_id: str) -> list[str]:
        """The ids to look a receipt up by in the store, its own first."""
        return [receipt_id, *sorted(self.variants(receipt_id))]

    @property
    def held(self) -> int:
        """Receipts held for a resp (for tests and metrics)."""
        return sum(len(entries) for entries in self._early.values())

    # Messages -----------------------------------------------------------------------------------
    def track(self, message: Message, parts: int, now: float) -> Sent:
        """A message about to be sent in ``parts`` submit_sm."""
        sent = Sent(message, parts, [None] * parts, at=now)
        self._sent[message.id] = sent
        return sent

    def is_tracked(self, sent: Sent) -> bool:
        """False once forgotten, or replaced by a later send of the same message."""
        return self._sent.get(sent.message.id) is sent

    def acknowledged(self, sent: Sent, index: int, carrier_id: str) -> list[Early[Token]]:
        """A resp brought part ``index``'s id: the held receipts that name it, now matchable."""
        sent.ids[index] = carrier_id
        matched: list[Early[Token]] = []
        for variant in self.variants(carrier_id):
            self._ids[variant] = (sent, index)
            matched += self._early.pop(variant, [])
        return matched

    def forget(self, sent: Sent) -> None:
        self._sent.pop(sent.message.id, None)
        for carrier_id in sent.ids:
            if carrier_id is not None:
                for variant in self.variants(carrier_id):
                    if self._ids.get(variant, (None,))[0] is sent:
                        del self._ids[variant]

    def forget_old(self, now: float) -> None:
        """Drop ids kept longer than ``id_memory`` (the store still has each message's)."""
        old = [s for s in self._sent.values() if not s.in_submit and s.at + self.id_memory < now]
        for sent in old:
            self.forget(sent)

    # Receipts -----------------------------------------------------------------------------------
    def receive(self, receipt: Receipt, token: Token, now: float) -> list[Report] | None:
        """The reports a receipt makes, or None when no resp has brought its id: then it is
        held with ``token`` until one does or ``early_wait`` passes."""
        reports = self.match(receipt, now)
        if reports is None:
            key = normalize_id(receipt[0])
            self._early.setdefault(key, []).append(Early(receipt, token, now))
        return reports

    def match(self, receipt: Receipt, now: float) -> list[Report] | None:
        """The reports a receipt makes (none until every part has a final one), or None when
        its id is not known (never brought, or its message already forgotten)."""
        hit = self._ids.get(normalize_id(receipt[0]))
        if hit is None:
            return None
        return self._on_receipt(hit[0], hit[1], receipt, now)

    def expired(self, now: float) -> list[list[Early[Token]]]:
        """Held receipts no resp claimed within ``early_wait``, grouped by id, no longer held:
        the caller looks them up in the store and answers them."""
        stale = [k for k, v in self._early.items() if v[0].at + self.early_wait < now]
        return [self._early.pop(key) for key in stale]

    def _on_receipt(self, sent: Sent, index: int, receipt: Receipt, now: float) -> list[Report]:
        outcome = RECEIPT_STATUS.get(receipt[1])
        if outcome is None:
            return []  # ENROUTE, ACCEPTD: not final
        sent.finals[index] = (outcome[0], receipt[2])
        if len(sent.finals) < sent.parts:
            return []
        self.forget(sent)
        if sent.parts == 1:
            status, err = outcome[0], receipt[2]
        else:
            status, err = max(sent.finals.values(), key=lambda f: _RANK.get(f[0], 4))
        out = []
        if sent.in_submit:
            # The dispatcher records SUBMITTED after submit() returns: record it first here.
            out.append(
                Report(
                    message_id=sent.message.id,
                    status=SUBMITTED,
                    carrier_id=sent.ids[0],
                    at=now,
                )
            )
        out.append(
            Report(
                message_id=sent.message.id,
                status=status,
                carrier_id=sent.ids[0],
                error_code=_ERROR.get(status),
                carrier_error=err if status is not DELIVERED else None,
                at=now,
            )
        )
        return out


def stored_report(message: Message, receipt: Receipt, now: float) -> Report | None:
    """The report a receipt makes for a message found in the store by its carrier id: only a
    final receipt for a message still waiting for one."""
    if message.status not in (Status.SUBMITTED, Status.UNKNOWN):
        return None
    outcome = RECEIPT_STATUS.get(receipt[1])
    if outcome is None:
        return None
    return Report(
        message_id=message.id,
        status=outcome[0],
        carrier_id=message.carrier_id,
        error_code=outcome[1].value if outcome[1] else None,
        carrier_error=receipt[2] if outcome[0] is not Status.DELIVERED else None,
        at=now,
    )
