"""A small scripted ESME for tests, on smsgate's own Session: bind, submit, record deliver_sm."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from smsgate.smpp.constants import CommandStatus
from smsgate.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    Pdu,
    SubmitSm,
)
from smsgate.smpp.session import Session


class Esme(Session):
    def __init__(self) -> None:
        super().__init__(window=1000, response_timeout=5.0, enquire_link=0, name="test-esme")
        self.delivered: list[DeliverSm] = []
        self.arrived = asyncio.Event()
        # deliver_sm -> command_status of our answer (default OK)
        self.answer: Callable[[DeliverSm], int] = lambda pdu: CommandStatus.ESME_ROK

    def handle_request(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, DeliverSm):
            status = self.answer(pdu)
            if status == CommandStatus.ESME_ROK:
                self.delivered.append(pdu)
                self.arrived.set()
            return pdu.make_resp(status)
        return super().handle_request(pdu)

    async def wait_delivered(self, n: int, timeout: float = 10.0) -> list[DeliverSm]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.delivered) < n:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"got {len(self.delivered)} deliver_sm, wanted {n}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                pass
        return self.delivered

    async def submit(self, **fields: object) -> Pdu:
        fields.setdefault("destination_addr", "79001234567")
        fields.setdefault("source_addr", "ACME")
        fields.setdefault("source_addr_ton", 5)
        fields.setdefault("dest_addr_ton", 1)
        fields.setdefault("dest_addr_npi", 1)
        return await self.call(SubmitSm(**fields))  # type: ignore[arg-type]


async def connect(port: int) -> Esme:
    loop = asyncio.get_running_loop()
    _, esme = await loop.create_connection(Esme, "127.0.0.1", port)
    return esme


async def bound(
    port: int, mode: str = "trx", system_id: str = "acme", password: str = "acme-pw"
) -> Esme:
    esme = await connect(port)
    cls = {"trx": BindTransceiver, "tx": BindTransmitter, "rx": BindReceiver}[mode]
    resp = await esme.call(cls(system_id=system_id, password=password))
    assert resp.command_status == 0, hex(resp.command_status)
    return esme
