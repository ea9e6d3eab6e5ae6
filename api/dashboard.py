"""GET /: a small dashboard page, static HTML and JavaScript shipped in the package (api/static), no CDN.

It reads this API like any client (/stats; /assets and /assets/<id>/history, each paged or bounded) and
draws with uPlot, vendored under api/static/vendor/uplot with its licence. Flask serves api/static at
/static. Not part of the OpenAPI document: it is a page for people, not an endpoint.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app

blp = Blueprint("dashboard", __name__)


@blp.route("/")
def dashboard() -> Response:
    """Send the dashboard page."""
    return current_app.send_static_file("dashboard.html")


@blp.route("/favicon.ico")
def no_icon() -> Response:
    """Answer browsers' icon request with nothing rather than a 404 (which they report as an error)."""
    return Response(status=204)
