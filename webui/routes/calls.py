"""Calls in progress and call history (filters, CSV export)."""

from __future__ import annotations

import csv
import dataclasses
import io

import bottle

from appliance.cdr import queries
from appliance.errors import ValidationError
from appliance.recordings import service as recording_service
from webui import web
from webui.permissions import allowed
from webui.web import _

FILTER_FIELDS = ("from", "to", "caller", "callee", "disposition")
CSV_COLUMNS = ("call_id", "caller", "caller_name", "callee", "start", "answer", "end", "billsec",
               "disposition", "hangup_cause", "direction", "trunk", "cost")


def register(app: bottle.Bottle) -> None:
    app.route("/calls", "GET", in_progress, perm="calls.read")
    app.route("/calls/history", "GET", history, perm="calls.read")
    app.route("/calls/history.csv", "GET", history_csv, perm="calls.read")


REFRESH_SECONDS = 5
PAGE_SIZE = 200


def in_progress():
    return web.render("calls.tpl", title=_("Calls in progress"), active="calls", calls=queries.in_progress(),
                      refresh=REFRESH_SECONDS)


def _filters() -> dict:
    return {name: bottle.request.query.getunicode(name, "") or "" for name in FILTER_FIELDS + ("offset",)}


def history():
    values = _filters()
    offset = 0
    try:
        wanted = queries.parse_filter({**values, "limit": str(PAGE_SIZE + 1)})
        offset = wanted.offset
        rows = queries.history(wanted)
        totals = queries.cost_totals(wanted.since, wanted.until)
        errors = {}
        status = 200
    except ValidationError as exc:
        rows, errors, status, totals = [], {exc.field: web.message_for(exc)}, 400, None
    kept = {k: v for k, v in values.items() if v and k != "offset"}

    def page_link(start: int) -> str:
        return "/calls/history?" + bottle.urlencode({**kept, "offset": str(start)})

    recordings = {}
    user = web.current_user()
    if user is not None and allowed(user.role, "recordings.read"):
        recordings = recording_service.by_call([c.call_id for c in rows[:PAGE_SIZE]])
    return web.render("history.tpl", status=status, title=_("Call history"), active="history",
                      rows=rows[:PAGE_SIZE], values=values, errors=errors, csv_query=bottle.urlencode(kept),
                      totals=totals, recordings=recordings,
                      newer=page_link(max(0, offset - PAGE_SIZE)) if offset > 0 else "",
                      older=page_link(offset + PAGE_SIZE) if len(rows) > PAGE_SIZE else "")


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def history_csv():
    """Every matching call as CSV, read from the store a page at a time."""
    values = _filters()
    try:
        first = queries.parse_filter({**values, "limit": str(queries.HISTORY_LIMIT_MAX), "offset": ""})
    except ValidationError as exc:
        return web.error_page(400, f"{exc.field}: {web.message_for(exc)}")

    def lines():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        offset = 0
        while True:
            rows = queries.history(dataclasses.replace(first, offset=offset))
            for row in rows:
                public = queries.to_public(row)
                writer.writerow([_cell(public[c]) for c in CSV_COLUMNS])
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
            if len(rows) < first.limit:
                return
            offset += first.limit

    bottle.response.content_type = "text/csv; charset=utf-8"
    bottle.response.set_header("Content-Disposition", 'attachment; filename="call-history.csv"')
    return lines()
