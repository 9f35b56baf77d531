"""`/docs` (Swagger UI) and `/redoc` with their scripts and styles served by the service itself:
FastAPI's own pages load them from a CDN, so they are blank on a police network without the
internet. The assets come from the `fastapi-offline` package (Swagger UI 5, ReDoc)."""

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute

ASSETS_URL = "/docs-assets"
ASSETS = files("fastapi_offline") / "static"


def _path(route: BaseRoute) -> str | None:
    return getattr(route, "path", None)


def serve_docs_offline(app: FastAPI) -> None:
    """Replace the app's CDN-backed documentation pages by local ones (same URLs)."""
    docs, redoc, oauth = app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url
    if app.openapi_url is None or (docs is None and redoc is None):
        return
    replaced = {docs, redoc, oauth} - {None}
    app.router.routes[:] = [r for r in app.router.routes if _path(r) not in replaced]
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS)), name="docs-assets")
    openapi_url = app.openapi_url

    if docs is not None:

        @app.get(docs, include_in_schema=False)
        async def swagger_ui(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=oauth,
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                swagger_ui_parameters=app.swagger_ui_parameters,
            )

        if oauth is not None:

            @app.get(oauth, include_in_schema=False)
            async def swagger_ui_redirect() -> HTMLResponse:
                return get_swagger_ui_oauth2_redirect_html()

    if redoc is not None:

        @app.get(redoc, include_in_schema=False)
        async def redoc_html(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
