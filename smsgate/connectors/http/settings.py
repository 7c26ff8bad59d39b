"""An HTTP upstream's settings: one `[[upstreams]]` table of the configuration each."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from ...core.bounds import Count, Delay, Rate, Seconds
from ...core.urls import Network, parse_networks

Kind = Literal["msghub", "smsgw2", "osonsms", "mysmpp", "smsc"]
SECRETS = ("password", "token", "dr_secret")  # never logged, rendered or shown by repr


class UpstreamConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One connector to a provider's HTTP API. `name` is what routes refer to (unique)."""

    name: str
    kind: Kind
    url: str  # the provider's API base URL (docs/upstreams.md: per kind, what it includes)
    login: str = ""  # whichever credentials the provider uses
    password: str = ""
    token: str = ""
    sender: str = ""  # the sender where a message has none
    timeout: Seconds = 10.0
    concurrency: Count = 8  # requests in flight at once
    tps: Rate = 0  # messages per second; 0: unlimited
    batch: Count = 100  # messages per request where the API batches
    status_poll: Delay = 0.0  # seconds between status pulls; 0: none (pushes only)
    dr_url: str = ""  # our public URL the provider pushes DRs to, where it pushes
    dr_secret: str = ""  # what signs the provider's DR pushes, where it signs them (SMSC md5/sha1)
    allow_networks: list[str] = msgspec.field(default_factory=list)  # tests: 127.0.0.0/8
    timezone: str = ""  # the zone of the provider's local date-times; "": the kind's own

    def __post_init__(self) -> None:
        parse_networks(self.allow_networks)  # a bad CIDR is a configuration error, named
        if self.timezone:
            try:
                ZoneInfo(self.timezone)
            except (ValueError, ZoneInfoNotFoundError):
                raise ValueError(f"timezone {self.timezone!r} is not a known zone") from None

    def networks(self) -> tuple[Network, ...]:
        return parse_networks(self.allow_networks)

    def __repr__(self) -> str:
        shown = [
            f"{field}={'***' if field in SECRETS and value else repr(value)}"
            for field, value in msgspec.structs.asdict(self).items()
        ]
        return f"UpstreamConfig({', '.join(shown)})"
