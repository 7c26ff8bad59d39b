"""The HTTP GET specification: `/sendsms.php?user=&pwd=&sadr=&dadr=&text=` sends and answers
the bare id_sms; with `smsid=` it answers the bare state. Plain text throughout, errors too:
a client pastes the answer into its next URL, so nothing but the value is written."""

from __future__ import annotations

from starlette.responses import Response

from ...core.models import Account
from ...engine.gateway import Gateway
from . import render
from .actions import lookup, send
from .errors import NOT_FOUND, format_error
from .parse import GET_API_LIFETIME, Lifetime
from .schemas import Parsed
from .statuses import state_of


async def by_params(gateway: Gateway, parsed: Parsed, account: Account, xml: bool) -> Response:
    """`smsid` asks for a state; anything else is a send."""
    if parsed.id_sms is not None:
        return await state(gateway, parsed, account)
    if parsed.batches is None:
        raise format_error(xml=False)
    lifetime = Lifetime(xml=False, default=GET_API_LIFETIME)
    entries = await send(gateway, account, parsed.batches, lifetime)
    return render.text_response(render.sent_text(entries))


async def state(gateway: Gateway, parsed: Parsed, account: Account) -> Response:
    """Exactly one of send|deliver|not_deliver|expired|partly_deliver, or the error text."""
    (row,) = await lookup(gateway, account, parsed.id_sms or [""])
    if row.message is None:
        return render.text_response(NOT_FOUND)
    return render.text_response(state_of(row.message.status))
