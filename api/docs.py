"""The interactive docs' assets, served from the installed swagger-ui-bundle package: /docs works offline.

flask-smorest writes the /docs page; it takes Swagger UI's files from SWAGGER_UI_URL, which points here
instead of a CDN. The URL is relative to /docs, so the page also works when the API is mounted under a
path prefix. Swagger UI's validator badge would call validator.swagger.io: it is switched off.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

SWAGGER_UI_URL = "docs/swagger-ui/"  # relative to /docs, whose base is the API's root
# The only files the page loads; anything else in the package is not served.
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")
ASSET_MAX_AGE_S = 86_400  # the files change only with the installed package

blp = Blueprint("docs_assets", __name__)


@blp.route(f"/{SWAGGER_UI_URL}<any({', '.join(map(repr, ASSETS))}):filename>")
def swagger_ui_asset(filename: str) -> Response:
    """Send one of Swagger UI's files from the installed package."""
    return send_from_directory(swagger_ui_path, filename, max_age=ASSET_MAX_AGE_S)


def init_app(app: Flask) -> None:
    """Point flask-smorest's /docs page at the packaged Swagger UI and serve its files."""
    app.config.update(
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
    )
    app.register_blueprint(blp)
