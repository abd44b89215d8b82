"""Price lists: the page /trunks/prices and the API under /api/v1/price-lists, plus the call-cost totals
(/api/v1/cdr/totals).

The pages are thin (static/prices.js): creating, uploading a CSV, editing and deleting go through the
same API as any client, so an error reads the same in both; a refused CSV lists each bad line.
Rates are uploaded as a text/csv body, larger than web.MAX_BODY: the upload path of every list gets an
allowance in web.BODY_ALLOWANCES.
"""

from __future__ import annotations

import logging
import re

import bottle

from appliance.cdr import queries
from appliance.errors import ValidationError
from appliance.prices import csvimport, service
from webui import web
from webui.openapi import error_responses as _errors
from webui.openapi import json_body as _body
from webui.openapi import json_response as _json
from webui.openapi import ref as _ref
from webui.web import _

log = logging.getLogger(__name__)

PREFIX = "/api/v1/price-lists"
TOTALS = "/api/v1/cdr/totals"
UPLOAD_BODY_MAX = csvimport.MAX_BYTES + 1024
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", "application/octet-stream")
PAGE_RATES = 500


def register(app: bottle.Bottle) -> None:
    web.BODY_ALLOWANCES[("POST", rf"{re.escape(PREFIX)}/[^/]+/rates")] = UPLOAD_BODY_MAX
    r = app.route
    r("/trunks/prices", "GET", lists_page, perm="trunks.read")
    r("/trunks/prices/<name>", "GET", list_page, perm="trunks.read")
    r(PREFIX, "GET", api_list, perm="trunks.read")
    r(PREFIX, "POST", api_create, perm="trunks.manage")
    r(f"{PREFIX}/<name>", "GET", api_get, perm="trunks.read")
    r(f"{PREFIX}/<name>", "PUT", api_update, perm="trunks.manage")
    r(f"{PREFIX}/<name>", "DELETE", api_delete, perm="trunks.manage")
    r(f"{PREFIX}/<name>/rates", "GET", api_export, perm="trunks.read")
    r(f"{PREFIX}/<name>/rates", "POST", api_import, perm="trunks.manage")
    r(TOTALS, "GET", api_totals, perm="calls.read")


# -- API ------------------------------------------------------------------------------------------

def api_list():
    counts = service.rate_counts()
    return web.json_body([service.price_list_dict(p, counts.get(p.id, 0)) for p in service.list_price_lists()])


def api_create():
    row = service.create_price_list(web.read_json_object(service.FIELDS))
    bottle.response.set_header("Location", f"{PREFIX}/{row.name}")
    return web.json_body(service.price_list_dict(row, 0), 201)


def api_get(name: str):
    return web.json_body(service.price_list_dict(service.get_price_list(name)))


def api_update(name: str):
    row = service.update_price_list(name, web.read_json_object(("name",) + service.UPDATE_FIELDS))
    return web.json_body(service.price_list_dict(row))


def api_delete(name: str):
    service.delete_price_list(name)
    bottle.response.status = 204
    return ""


def api_export(name: str):
    text = service.export_rates(name)
    bottle.response.content_type = "text/csv; charset=utf-8"
    bottle.response.set_header("Content-Disposition", f'attachment; filename="{name}.csv"')
    return text.encode("utf-8")


def api_import(name: str):
    ctype = (bottle.request.content_type or "").split(";")[0].strip().lower()
    if ctype not in CSV_TYPES:
        raise web.ApiError(415, "unsupported_media_type", None, "send the rates as a text/csv body")
    service.get_price_list(name)  # 404 before reading a body for nothing
    revision = bottle.request.query.getunicode("revision", "") or ""
    if revision and not revision.isdecimal():
        raise ValidationError("revision", "must be an integer")
    data = bottle.request.body.read(csvimport.MAX_BYTES + 1)
    try:
        count = service.import_rates(name, data, int(revision) if revision else None)
    except csvimport.CsvErrors as exc:
        body = {"error": "invalid", "field": "rates", "message": f"rates: {exc.message}", "errors": exc.errors,
                "error_count": exc.total}
        return web.json_body(body, 400)
    return web.json_body({**service.price_list_dict(service.get_price_list(name)), "imported": count})


def api_totals():
    for key in bottle.request.query.keys():
        if key not in ("from", "to"):
            raise web.ApiError(400, "invalid", key[:64], f"{key[:64]}: is not a known filter")
    wanted = queries.parse_filter({k: bottle.request.query.getunicode(k, "") for k in ("from", "to")})
    return web.json_body(queries.cost_totals(wanted.since, wanted.until))


# -- pages ----------------------------------------------------------------------------------------------

def lists_page():
    counts = service.rate_counts()
    rows = [service.price_list_dict(p, counts.get(p.id, 0)) for p in service.list_price_lists()]
    return web.render("prices.tpl", title=_("Price lists"), active="trunks", rows=rows,
                      scripts=("api.js", "prices.js"))


def list_page(name: str):
    row = service.get_price_list(name)
    offset_text = bottle.request.query.getunicode("offset", "") or "0"
    offset = int(offset_text) if offset_text.isdecimal() else 0
    rates = service.list_rates(name, limit=PAGE_RATES + 1, offset=offset)
    info = service.price_list_dict(row)
    return web.render("prices_list.tpl", title=_("Price list %s") % name, active="trunks", info=info,
                      rates=rates[:PAGE_RATES], offset=offset, page_size=PAGE_RATES,
                      more=len(rates) > PAGE_RATES, num=csvimport.number_text, scripts=("api.js", "prices.js"))


# -- OpenAPI --------------------------------------------------------------------------------------------

_NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}}]
_PERIOD = [
    {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD or ISO date-time (UTC)"},
    {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD (inclusive) or ISO date-time"},
]
_CSV_DOC = ("CSV with a header row naming the manual's columns: " + ", ".join(csvimport.COLUMNS)
            + " (dialprefix and rate required); ';' or ',' separated; decimal point or comma; UTF-8, BOM allowed; "
            f"at most {csvimport.MAX_BYTES // (1024 * 1024)} MB and {csvimport.MAX_ROWS} rates. rate: per minute; min_duration: a call of at most that many seconds "
            "is free; billing_block: seconds per billed unit (a started unit counts); connect_charge: once per "
            "billed call; days 1 = Monday .. 7 = Sunday; times in seconds from midnight (ranges may wrap).")

OPENAPI_PATHS = {
    PREFIX: {
        "get": {"summary": "Price lists (trunks.read)",
                "responses": {"200": _json({"type": "array", "items": _ref("PriceList")}, "Price lists"),
                              **_errors("401", "403")}},
        "post": {"summary": "Create a price list (trunks.manage); its rates are then uploaded as CSV",
                 "requestBody": _body(_ref("PriceListWrite")),
                 "responses": {"201": _json(_ref("PriceList"), "Created"),
                               **_errors("400", "401", "403", "413", "415")}},
    },
    f"{PREFIX}/{{name}}": {
        "parameters": _NAME,
        "get": {"summary": "One price list", "responses": {"200": _json(_ref("PriceList"), "Price list"),
                                                           **_errors("401", "403", "404")}},
        "put": {"summary": "Change description or currency (the name cannot change); send revision to refuse "
                           "a concurrent edit (409)",
                "requestBody": _body(_ref("PriceListWrite")),
                "responses": {"200": _json(_ref("PriceList"), "Saved"),
                              **_errors("400", "401", "403", "404", "409", "413", "415")}},
        "delete": {"summary": "Delete a price list with its rates; 409 while a trunk uses it",
                   "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404", "409")}},
    },
    f"{PREFIX}/{{name}}/rates": {
        "parameters": _NAME,
        "get": {"summary": "The rates as CSV (';' separated, importable again)",
                "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                              **_errors("401", "403", "404")}},
        "post": {"summary": "Replace all the rates with a CSV file; a file with any bad row imports nothing and "
                            "the answer lists each bad line",
                 "parameters": [{"name": "revision", "in": "query", "schema": {"type": "integer"},
                                 "description": "the revision you read (409 if it changed)"}],
                 "requestBody": {"required": True, "description": _CSV_DOC,
                                 "content": {"text/csv": {"schema": {"type": "string"}}}},
                 "responses": {"200": _json({"allOf": [_ref("PriceList"), {"type": "object", "properties": {
                     "imported": {"type": "integer"}}}]}, "Imported"),
                     "400": _json(_ref("CsvErrors"), "Bad rows: nothing imported"),
                     **_errors("401", "403", "404", "409", "413", "415")}},
    },
    TOTALS: {"get": {
        "summary": "Cost of the priced calls started in the period, per user and per trunk, per currency",
        "parameters": _PERIOD,
        "responses": {"200": _json(_ref("CostTotals"), "Totals"), **_errors("400", "401", "403")}}},
}

_TOTAL_ROW = {"calls": {"type": "integer"}, "billsec": {"type": "integer"}, "cost": {"type": "number"},
              "currency": {"type": "string"}}
OPENAPI_SCHEMAS = {
    "PriceList": {"type": "object", "properties": {
        "name": {"type": "string"}, "description": {"type": "string"}, "currency": {"type": "string"},
        "rates": {"type": "integer", "description": "how many rates"},
        "trunks": {"type": "array", "items": {"type": "string"}, "description": "trunks pricing with it"},
        "revision": {"type": "integer"}, "updated_at": {"type": "string", "format": "date-time"}}},
    "PriceListWrite": {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$", "description": "POST only; immutable"},
        "description": {"type": "string", "maxLength": 255},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "EUR", "description": "ISO 4217"},
        "revision": {"type": "integer", "description": "PUT only: the revision you read"}}},
    "CsvErrors": {"type": "object", "properties": {
        "error": {"type": "string", "enum": ["invalid"]}, "field": {"type": "string", "enum": ["rates"]},
        "message": {"type": "string"}, "error_count": {"type": "integer"},
        "errors": {"type": "array", "description": "each bad line (at most 200 listed)", "items": {
            "type": "object", "properties": {"line": {"type": "integer"}, "column": {"type": "string", "nullable": True},
                                             "message": {"type": "string"}}}}}},
    "CostTotals": {"type": "object", "properties": {
        "from": {"type": "string", "nullable": True}, "to": {"type": "string", "nullable": True},
        "users": {"type": "array", "items": {"type": "object", "properties": {
            "user": {"type": "string"}, "name": {"type": "string"}, **_TOTAL_ROW}}},
        "trunks": {"type": "array", "items": {"type": "object", "properties": {
            "trunk": {"type": "string"}, **_TOTAL_ROW}}},
        "total": {"type": "array", "items": {"type": "object", "properties": _TOTAL_ROW}}}},
}
