"""Bounded number types for the settings structs. msgspec checks them when a configuration is
loaded (smsgate/config.py), so a value out of range is refused there, with its setting's name,
instead of misbehaving later (a zero poll interval spins; a ratio of 2 is no ratio)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0)]  # a period, timeout or lifetime: never 0
Delay = Annotated[float, msgspec.Meta(ge=0)]  # a wait that may be none
Count = Annotated[int, msgspec.Meta(ge=1)]  # a size or a number of things: at least one
Rate = Annotated[int, msgspec.Meta(ge=0)]  # per second; 0: unlimited
Ratio = Annotated[float, msgspec.Meta(ge=0, le=1)]  # a share, 0 to 1
ListenPort = Annotated[int, msgspec.Meta(ge=0, le=65535)]  # 0: any free port, or none
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]  # a port to connect to
Byte = Annotated[int, msgspec.Meta(ge=0, le=255)]  # an SMPP one-octet field
