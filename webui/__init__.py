"""The web UI and JSON API: a Bottle app that only calls into the appliance packages.

`webui.app.create_app(settings)` builds the app; `webui.server.serve(settings)`
runs it on cheroot's threaded WSGI server.
"""
