"""The soak's callback receiver: a small HTTP/1.1 server that answers 200 and counts.

    python -m bench.soak_receiver PORT DUMP_PATH

Runs in its own process (bench/soak.py starts it) so that its work and memory are not
smsgate's. Each native callback (one JSON event per POST) is decoded and counted per message
id: bit 1 for `submitted`, bit 2 for a final status; a bit seen again counts as a duplicate, and
any other event as `other`. `GET /tally` answers the counts as JSON; `GET /dump` writes every id
with its bits to DUMP_PATH, one `id bits` line each, and answers once that is on disk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec

from smsgate.core.status import FINAL

FINALS = frozenset(s.value for s in FINAL)
SUBMITTED, FINAL_BIT = 1, 2


@dataclass
class Tally:
    requests: int = 0
    submitted: int = 0  # first `submitted` callbacks, one per message at most
    final: int = 0  # first final callbacks, one per message at most
    dup_submitted: int = 0
    dup_final: int = 0
    other: int = 0  # callbacks neither `submitted` nor final (none are expected)
    bad: int = 0  # bodies that are no native status callback
    messages: int = 0  # distinct message ids called back
    last: float = 0.0  # loop time of the last callback

    @property
    def calls(self) -> int:
        return self.submitted + self.final + self.dup_submitted + self.dup_final + self.other


class _Message(msgspec.Struct):
    id: str


class _Event(msgspec.Struct):
    type: str
    status: str | None = None
    message: _Message | None = None


_decode = msgspec.json.Decoder(_Event).decode


class Counts:
    def __init__(self, dump: Path) -> None:
        self.tally = Tally()
        self.bits: dict[str, int] = {}
        self.dump = dump

    def count(self, body: bytes) -> None:
        t = self.tally
        t.requests += 1
        try:
            event = _decode(body)
        except msgspec.DecodeError:
            t.bad += 1
            return
        if event.type != "status" or event.message is None:
            t.bad += 1
            return
        if event.status == "submitted":
            bit = SUBMITTED
        elif event.status in FINALS:
            bit = FINAL_BIT
        else:
            t.other += 1
            return
        old = self.bits.get(event.message.id, 0)
        if not old:
            t.messages += 1
        if old & bit:
            if bit == SUBMITTED:
                t.dup_submitted += 1
            else:
                t.dup_final += 1
            return
        self.bits[event.message.id] = old | bit
        if bit == SUBMITTED:
            t.submitted += 1
        else:
            t.final += 1
        t.last = asyncio.get_running_loop().time()

    def write_dump(self) -> None:
        with self.dump.open("w") as f:
            f.writelines(f"{i} {bits}\n" for i, bits in self.bits.items())


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"


class Server(asyncio.Protocol):
    """HTTP/1.1 keep-alive, pipelined requests answered in order in one write per read."""

    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buf += data
        out = []
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            head = self.buf[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buf) < end + 4 + length:
                break
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            out.append(self.answer(head.split(b" ", 2), body))
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def answer(self, line: list[bytes], body: bytes) -> bytes:
        if line[0] == b"GET" and line[1] == b"/tally":
            payload = msgspec.json.encode(dataclasses.asdict(self.counts.tally))
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            return head + str(len(payload)).encode() + b"\r\n\r\n" + payload
        if line[0] == b"GET" and line[1] == b"/dump":
            self.counts.write_dump()  # blocks the loop: asked for once, after the load
            return OK
        self.counts.count(body)
        return OK


async def serve(port: int, dump: Path) -> None:
    counts = Counts(dump)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Server(counts), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    port, dump = int(sys.argv[1]), Path(sys.argv[2])
    try:
        import uvloop

        uvloop.run(serve(port, dump))
    except ImportError:
        asyncio.run(serve(port, dump))


if __name__ == "__main__":
    main()
