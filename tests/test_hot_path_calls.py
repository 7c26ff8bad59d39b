"""The hot functions of a single send and of the engine make no call through a dict of
keywords.

CPython compiles a call with more than 15 keyword arguments (more than 30 stack slots) into
CALL_FUNCTION_EX: it builds a dict of them, which the callee takes apart again. A Message of 21
keywords cost a single send about a microsecond so, its answer's MessageOut another.
"""

from __future__ import annotations

import dis
from collections.abc import Callable
from typing import Any

import pytest

from smsgate.core import validate
from smsgate.core.ids import new_id
from smsgate.dialects.native import render
from smsgate.engine.gateway import Gateway
from smsgate.store.rows import row_to_message

HOT: list[Callable[..., Any]] = [
    validate.build_message,
    validate._template,
    validate._recipient,
    render.message_out,
    new_id,
    Gateway.token,
    row_to_message,  # each message a claim or a report reads
]


@pytest.mark.parametrize("function", HOT, ids=lambda f: f.__qualname__)
def test_no_call_goes_through_a_dict_of_keywords(function: Callable[..., Any]) -> None:
    calls = [i for i in dis.get_instructions(function) if i.opname == "CALL_FUNCTION_EX"]
    assert not calls, f"{function.__qualname__} line {calls[0].positions}"


def test_the_check_sees_a_call_of_sixteen_keywords() -> None:
    source = "f(" + ", ".join(f"k{i}={i}" for i in range(16)) + ")"
    code = compile(source, "<sixteen>", "eval")
    assert any(i.opname == "CALL_FUNCTION_EX" for i in dis.get_instructions(code))
