"""The OpenAPI 3 description of /api/v1/, served at /api/v1/openapi.json.

Hand-written so it reads as the contract; a unit test checks that every API
route is documented here and every documented path exists.
"""

from __future__ import annotations

import appliance


# Building blocks, shared by the area modules that describe their own paths (OPENAPI_PATHS).
def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict:
    return {"$ref": "#/components/responses/" + description}


_ERRORS = {
    "400": _err("BadRequest"), "401": _err("Unauthorized"), "403": _err("Forbidden"),
    "413": _err("TooLarge"), "415": _err("NotJson"),
}


def error_responses(*codes: str) -> dict:
    return {code: _ERRORS.get(code) or _err({"404": "NotFound", "409": "Conflict", "429": "Throttled",
                                             "503": "SipEdgeUnreachable"}[code]) for code in codes}


def json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_EXT = [{"name": "extension", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{2,8}$"}}]
_CDR_FILTERS = [
    {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD or ISO date-time (UTC)"},
    {"name": "to", "in": "query", "schema": {"type": "string"}, "description": "YYYY-MM-DD (inclusive) or ISO date-time"},
    {"name": "caller", "in": "query", "schema": {"type": "string"}, "description": "caller contains this"},
    {"name": "callee", "in": "query", "schema": {"type": "string"}, "description": "callee contains this"},
    {"name": "disposition", "in": "query", "schema": ref("Disposition")},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
]


def document() -> dict:
    doc = _core_document()
    # Each area module may describe its own paths and schemas (OPENAPI_PATHS, OPENAPI_SCHEMAS).
    from webui.app import AREAS

    for area in AREAS:
        doc["paths"].update(getattr(area, "OPENAPI_PATHS", {}))
        doc["components"]["schemas"].update(getattr(area, "OPENAPI_SCHEMAS", {}))
    return doc


def _core_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "PBX appliance API",
            "version": appliance.__version__,
            "description": (
                "Log in with POST /api/v1/session, then send `Authorization: Bearer <token>`. "
                "Bodies are JSON (at most 64 KiB). Every error is JSON {\"error\": code, \"field\": name or "
                "null, \"message\": text}. Roles: admin manages everything; technician reads users, "
                "registrations, calls, bans and settings and may unban; user gets 403 here."),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/openapi.json": {"get": {
                "summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI document"}}}},
            "/api/v1/session": {
                "post": {
                    "summary": "Log in; returns a bearer token", "security": [],
                    "requestBody": json_body({"type": "object", "required": ["username", "password"],
                                          "additionalProperties": False,
                                          "properties": {"username": {"type": "string"},
                                                         "password": {"type": "string"}}}),
                    "responses": {
                        "200": json_response({"type": "object", "properties": {
                            "token": {"type": "string"}, "expires": {"type": "string", "format": "date-time"},
                            "role": ref("Role")}}, "Logged in"),
                        "403": json_response(ref("Error"), 'A one-time password must be replaced first: '
                                     '{"error": "password_change_required"}'),
                        **error_responses("400", "401", "413", "415", "429")}},
                "delete": {"summary": "Log out (ends this token)",
                           "responses": {"200": {"description": "Logged out"}, **error_responses("401")}},
            },
            "/api/v1/session/password": {"post": {
                "summary": "Change a web password (also the way out of a one-time password)", "security": [],
                "requestBody": json_body({"type": "object", "required": ["username", "current_password", "new_password"],
                                      "additionalProperties": False, "properties": {
                                          "username": {"type": "string"}, "current_password": {"type": "string"},
                                          "new_password": {"type": "string", "minLength": 12,
                                                           "description": "upper, lower case and a digit"}}}),
                "responses": {"200": {"description": "Changed; every session of the user is ended"},
                              **error_responses("400", "401", "413", "415", "429")}}},
            "/api/v1/status": {"get": {
                "summary": "Status strip: appliance name, SIP edge up/down, registered phones, calls",
                "responses": {"200": json_response(ref("Status"), "Status"), **error_responses("401", "403")}}},
            "/api/v1/users": {
                "get": {"summary": "List users with an extension",
                        "parameters": [{"name": "search", "in": "query", "schema": {"type": "string"}}],
                        "responses": {"200": json_response({"type": "array", "items": ref("User")}, "Users"),
                                      **error_responses("400", "401", "403")}},
                "post": {"summary": "Create a user; a SIP password is generated (and returned once) if none given",
                         "requestBody": json_body(ref("UserWrite")),
                         "responses": {"201": json_response(ref("UserCreated"), "Created"),
                                       **error_responses("400", "401", "403", "413", "415")}},
            },
            "/api/v1/users/{extension}": {
                "parameters": _EXT,
                "get": {"summary": "One user", "responses": {"200": json_response(ref("User"), "User"),
                                                             **error_responses("401", "403", "404")}},
                "put": {"summary": "Change some fields; send `revision` to refuse a concurrent edit (409)",
                        "requestBody": json_body(ref("UserWrite")),
                        "responses": {"200": json_response(ref("User"), "Saved"),
                                      **error_responses("400", "401", "403", "404", "409", "413", "415")}},
                "delete": {"summary": "Delete a user (its phone can no longer register)",
                           "responses": {"204": {"description": "Deleted"}, **error_responses("401", "403", "404", "409")}},
            },
            "/api/v1/users/{extension}/sip_password": {
                "parameters": _EXT,
                "get": {"summary": "Reveal the SIP password (admin only)",
                        "responses": {"200": json_response({"type": "object", "properties": {
                            "extension": {"type": "string"}, "sip_password": {"type": "string"}}}, "The password"),
                            **error_responses("401", "403", "404")}}},
            "/api/v1/registrations": {"get": {
                "summary": "Phones registered with the SIP edge",
                "responses": {"200": json_response({"type": "array", "items": ref("Registration")}, "Registrations"),
                              **error_responses("401", "403", "503")}}},
            "/api/v1/calls": {"get": {
                "summary": "Calls in progress",
                "responses": {"200": json_response({"type": "array", "items": ref("Cdr")}, "Calls"),
                              **error_responses("401", "403")}}},
            "/api/v1/cdr": {"get": {
                "summary": "Call history (finished calls, newest first)", "parameters": _CDR_FILTERS,
                "responses": {"200": json_response({"type": "array", "items": ref("Cdr")}, "Call records"),
                              **error_responses("400", "401", "403")}}},
            "/api/v1/bans": {"get": {
                "summary": "Source addresses banned by the SIP edge",
                "responses": {"200": json_response({"type": "array", "items": ref("Ban")}, "Bans"),
                              **error_responses("401", "403", "503")}}},
            "/api/v1/settings": {
                "get": {"summary": "System settings and the SIP edge's ban thresholds",
                        "responses": {"200": json_response(ref("SystemSettings"), "Settings"), **error_responses("401", "403")}},
                "put": {"summary": ("Change some settings (admin). Ban thresholds and the SIP domain apply to "
                                    "the running SIP edge at once; a new SIP domain re-keys every SIP password. "
                                    "Send `revision` to refuse a concurrent edit (409)"),
                        "requestBody": json_body(ref("SystemSettingsWrite")),
                        "responses": {"200": json_response(ref("SystemSettings"), "Saved"),
                                      **error_responses("400", "401", "403", "409", "413", "415")}},
            },
            "/api/v1/bans/{ip}": {
                "parameters": [{"name": "ip", "in": "path", "required": True, "schema": {"type": "string"}}],
                "delete": {"summary": "Unban an address",
                           "responses": {"204": {"description": "Unbanned"}, **error_responses("400", "401", "403", "503")}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Role": {"type": "string", "enum": ["admin", "technician", "user"]},
                "Disposition": {"type": "string",
                                "enum": ["in_progress", "answered", "busy", "no_answer", "failed", "cancelled"]},
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "string"}, "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"}}},
                "User": {"type": "object", "properties": {
                    "extension": {"type": "string"}, "first_name": {"type": "string"},
                    "last_name": {"type": "string"}, "email": {"type": "string", "nullable": True},
                    "role": ref("Role"), "language": {"type": "string", "enum": ["fr", "en", "de", "it"]},
                    "revision": {"type": "integer"}}},
                "UserWrite": {"type": "object", "additionalProperties": False, "properties": {
                    "extension": {"type": "string", "pattern": "^[0-9]{2,8}$"},
                    "first_name": {"type": "string", "maxLength": 64},
                    "last_name": {"type": "string", "maxLength": 64},
                    "email": {"type": "string", "nullable": True}, "role": ref("Role"),
                    "language": {"type": "string", "enum": ["fr", "en", "de", "it"]},
                    "sip_password": {"type": "string", "writeOnly": True, "minLength": 12},
                    "web_password": {"type": "string", "writeOnly": True, "minLength": 12},
                    "revision": {"type": "integer", "description": "PUT only: the revision you read"}}},
                "UserCreated": {"allOf": [ref("User"), {"type": "object", "properties": {
                    "sip_password": {"type": "string", "description": "only when it was generated"}}}]},
                "Registration": {"type": "object", "properties": {
                    "extension": {"type": "string"}, "contact": {"type": "string"},
                    "user_agent": {"type": "string"}, "source_ip": {"type": "string"},
                    "expires": {"type": "integer"}}},
                "Ban": {"type": "object", "properties": {
                    "ip": {"type": "string"}, "expires": {"type": "integer"}, "failures": {"type": "integer"}}},
                "Cdr": {"type": "object", "properties": {
                    "call_id": {"type": "string"}, "caller": {"type": "string"}, "caller_name": {"type": "string"},
                    "callee": {"type": "string"}, "start": {"type": "string", "format": "date-time"},
                    "answer": {"type": "string", "format": "date-time", "nullable": True},
                    "end": {"type": "string", "format": "date-time", "nullable": True},
                    "billsec": {"type": "integer"}, "disposition": ref("Disposition"),
                    "hangup_cause": {"type": "string"}, "worker": {"type": "string"},
                    "direction": {"type": "string", "enum": ["internal", "inbound", "outbound"]},
                    "trunk": {"type": "string"}, "cost": {"type": "number", "nullable": True}}},
                "SystemSettings": {"allOf": [ref("SystemSettingsWrite"), {"type": "object", "properties": {
                    "revision": {"type": "integer", "description": "send it back with PUT"}}}]},
                "SystemSettingsWrite": {"type": "object", "additionalProperties": False, "properties": {
                    "appliance_name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "sip_domain": {"type": "string", "maxLength": 253,
                                   "description": "DNS name or IPv4 address; also the digest realm"},
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166-1 alpha-2"},
                    "timezone": {"type": "string", "description": "IANA time zone, e.g. Europe/Paris"},
                    "language": {"type": "string", "enum": ["fr", "en", "de", "it"]},
                    "ring_timeout_s": {"type": "integer", "minimum": 5, "maximum": 300},
                    "ban_failures": {"type": "integer", "minimum": 2, "maximum": 1000,
                                     "description": "failed authentications from one IP that get it banned"},
                    "ban_window_s": {"type": "integer", "minimum": 10, "maximum": 3600,
                                     "description": "seconds in which those failures are counted"},
                    "ban_minutes": {"type": "integer", "minimum": 1, "maximum": 10080,
                                    "description": "how long a new ban lasts"},
                    "flood_limit": {"type": "integer", "minimum": 16, "maximum": 65535,
                                    "description": "requests from one IP per 2 s above which they are dropped; "
                                                   "changing it restarts Kamailio"},
                    "national_prefix": {"type": "string", "pattern": "^[0-9]{0,4}$",
                                        "description": "trunk prefix of national numbers (\"0\"; empty if none)"},
                    "international_prefix": {"type": "string", "pattern": "^[0-9]{1,4}$",
                                             "description": "prefix of international numbers (\"00\")"},
                    "revision": {"type": "integer", "description": "PUT only: the revision you read"}}},
                "Status": {"type": "object", "properties": {
                    "appliance_name": {"type": "string"}, "sip_edge": {"type": "string", "enum": ["up", "down"]},
                    "registered": {"type": "integer", "nullable": True}, "calls": {"type": "integer"}}},
            },
            "responses": {
                name: json_response(ref("Error"), text) for name, text in {
                    "BadRequest": "Invalid input; `field` names it", "Unauthorized": "No or bad credentials",
                    "Forbidden": "Role not allowed, or password_change_required", "NotFound": "No such item",
                    "Conflict": "Changed by someone else (revision) or not allowed now",
                    "TooLarge": "Body over 64 KiB", "NotJson": "Body is not application/json",
                    "Throttled": "Too many failed logins from this address",
                    "SipEdgeUnreachable": "Kamailio cannot be reached",
                }.items()
            },
        },
    }

