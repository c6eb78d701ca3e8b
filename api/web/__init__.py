"""The web pages, served by the same app at "/": `api.web.router`."""

from api.web.pages import router

__all__ = ["router"]
