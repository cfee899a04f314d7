"""The download links Teams hands a scrutineer for /report, /export and /evidence, served by the bot's own HTTP server
at /teams/files/TOKEN (bot.reporting.links makes and checks the tokens, and builds the file).

GET shows what the file is and a Download button; only the button's POST builds the file and audits it, because link
scanners (Microsoft Defender's Safe Links among them) follow links in chat messages, and a scan must neither build an
export nor write to the audit chain. The file goes as an attachment that no cache keeps. A wrong, altered or expired
link gets the web chat's kind message page with a 4xx status, never a traceback. Tokens are never logged (the
server keeps no access log).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import templates
from bot.channels import web_words
from bot.channels.teams import words as said
from bot.channels.web import PRIVATE, Refused
from bot.reporting.delivery import TEXT_TYPES, Deliverable
from bot.reporting.links import LinkRefused

if TYPE_CHECKING:
    from bot.channels.web import WebChannel
    from bot.server import HttpServer

PATH = "/teams/files"


def download_page(what: str, action: str, *, assets: dict[str, str]) -> str:
    """The page a link opens: what the file is, and the button that downloads it."""
    return templates.render("teams/download.html", words=web_words, heading=said.DOWNLOAD_TITLE,
                            text=said.DOWNLOAD_PAGE.format(what=what), action=action, button=said.DOWNLOAD_BUTTON,
                            assets=assets)


class Downloads:
    """The two routes. `look` and `fetch` (bot.reporting.links, bound to the app by bot.app) run on the service's
    database thread through `call`; `chat` is the web chat, for its assets and its message pages."""

    def __init__(self, call: Callable[..., Awaitable[Any]], look: Callable[[str], str],
                 fetch: Callable[[str], tuple[Deliverable, str]], chat: WebChannel) -> None:
        self.call = call
        self.look = look
        self.fetch = fetch
        self.chat = chat

    def mount(self, server: HttpServer) -> None:
        server.add_route("GET", PATH + "/{token}", self.chat.guarded(self.page, api=False))
        server.add_route("POST", PATH + "/{token}", self.chat.guarded(self.download, api=False))

    async def page(self, request: web.Request) -> web.StreamResponse:
        what = await self._checked(self.look, request)
        html = download_page(what, request.path, assets=self.chat.assets())
        return web.Response(text=html, content_type="text/html", headers=PRIVATE)

    async def download(self, request: web.Request) -> web.StreamResponse:
        made, content_type = await self._checked(self.fetch, request)
        name = made.filename.replace('"', "")  # made of a survey id and a kind: plain already
        return web.Response(body=made.data, content_type=content_type,
                            charset="utf-8" if content_type in TEXT_TYPES else None,
                            headers={**PRIVATE, "Content-Disposition": f'attachment; filename="{name}"'})

    async def _checked(self, use: Callable[[str], Any], request: web.Request) -> Any:
        try:
            return await self.call(use, request.match_info["token"])
        except LinkRefused as refused:
            raise Refused(refused.status, str(refused)) from None
