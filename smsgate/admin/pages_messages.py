"""The console's messages: the search, a message's page (its timeline of status events,
callbacks and their attempts) and a job's page (progress by status, the recipients refused)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..core.status import Status
from ..store.base import ConsoleFilter
from . import auth
from .context import context_of
from .pages_query import Cursor, SearchForm
from .pages_render import render

PAGE = 50
DIALECTS = ("native", "msghub", "smsgw2", "osonsms", "mysmpp", "smsc", "smpp")


@auth.require_page()
async def search(request: Request) -> Response:
    """The search page; an htmx request (the form, "Older") gets the result table only."""
    store = context_of(request).store
    form = SearchForm.of(request)
    flt, errors = form.filter()
    cursor = Cursor.of(request)
    found = (
        []
        if errors
        else await store.console_messages(flt, before_seq=cursor.before, limit=PAGE + 1)
    )
    rows = found[:PAGE]
    older = form.query(before=str(rows[-1].seq)) if len(found) > PAGE else None
    accounts = {a.id: a for a in await store.list_accounts()}
    results_only = request.headers.get("HX-Target") == "results"  # the form or "Older"
    return render(
        request,
        "_message_rows.html" if results_only else "messages.html",
        400 if errors else 200,
        form=form,
        errors=errors,
        rows=rows,
        older=older,
        accounts=accounts,
        statuses=[s.value for s in Status],
        dialects=context_of(request).dialects or DIALECTS,
    )


@auth.require_page()
async def message(request: Request) -> Response:
    store = context_of(request).store
    message_id = request.path_params["message_id"]
    found = await store.console_messages(ConsoleFilter(message_id=message_id), limit=1)
    if not found:
        return render(request, "not_found.html", 404, what=f"message {message_id}")
    m = found[0]
    account = await store.get_account(m.account_id)
    events = await store.events_of(m.account_id, m.id)
    callbacks = await store.console_callbacks(m.id)
    attempts = await store.callback_attempts(m.id)
    by_event = {f"ev-{e.seq}": e for e in events}
    return render(
        request,
        "message.html",
        m=m,
        account=account,
        events=events,
        callbacks=callbacks,
        attempts=attempts,
        by_event=by_event,
    )


@auth.require_page()
async def job(request: Request) -> Response:
    store = context_of(request).store
    job_id = request.path_params["job_id"]
    found = await store.console_job(job_id)
    counts = await store.get_job(found.account_id, job_id) if found else None
    if found is None or counts is None:
        return render(request, "not_found.html", 404, what=f"job {job_id}")
    cursor = Cursor.of(request)
    refused = await store.console_messages(
        ConsoleFilter(job_id=job_id, account_id=found.account_id, status=Status.REJECTED.value),
        before_seq=cursor.before,
        limit=PAGE + 1,
    )
    stored = sum(counts.by_status.values())
    return render(
        request,
        "job.html",
        job=found,
        account=await store.get_account(found.account_id),
        by_status=sorted(counts.by_status.items(), key=lambda kv: -kv[1]),
        stored=stored,
        refused=refused[:PAGE],
        older=refused[PAGE - 1].seq if len(refused) > PAGE else None,
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/messages", search, methods=["GET"]),
        Route("/messages/{message_id}", message, methods=["GET"]),
        Route("/jobs/{job_id}", job, methods=["GET"]),
    ]
