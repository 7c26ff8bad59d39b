"""Over an SMPP bind, a number that cannot exist is ESME_RINVDSTADR; a test range lets it in."""

from __future__ import annotations

from smsgate.smpp.constants import CommandStatus as S
from tests.smpp.conftest import smpp_port
from tests.smpp.esme import bound
from tests.support.servers import Gateway, account


async def test_an_unassigned_calling_code_is_an_invalid_destination(smsc: Gateway) -> None:
    await smsc.provision(account("acme"), account("lab", settings={"test_numbers": ["+999"]}))
    port = smpp_port(smsc)
    esme = await bound(port)
    for destination in ("9991234567", "+9991234567", "1234567"):
        answer = await esme.submit(destination_addr=destination, short_message=b"x")
        assert answer.command_status == S.ESME_RINVDSTADR, destination
    lab = await bound(port, system_id="lab", password="lab-pw")
    answer = await lab.submit(destination_addr="9991234567", short_message=b"x")
    assert answer.command_status == S.ESME_ROK
    esme.close()
    lab.close()
