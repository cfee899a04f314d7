"""The console's Safeguarding section (/admin/safeguarding): the alerts raised and whether each was acknowledged, with
an Acknowledge button. For the safeguarding lead only (Action.RECEIVE_ALERTS).

What is shown, and why nothing more: alerts are anonymous by design (docs/safeguarding.md). The service keeps no
words, no ids and no handle of the young person; it audits that an alert was raised (its reference, category and
whether they agreed to be contacted) and that it was acknowledged, and that is all there is to show
(bot.services.safeguarding.alert_log reads those records back). A named alert's way to reach the young person went
only to the lead's private chat or channel, at the time, and is not stored, so it cannot be shown here either.

Acknowledge calls the same use case as the button on the alert in Telegram or Slack (SurveyService.acknowledge, in
bot.services.care), through the service's own database thread as the chats do, so it writes the same single
`safeguarding.acknowledged` audit record and a second press changes nothing.
"""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.console.site import FORM, PREFIX, Console, Refusal
from bot.engine import messages as msg
from bot.services.console_access import Person
from bot.services.roles import Action
from bot.services.safeguarding import alert_log
from bot.services.safeguarding.alerts import ack_data, ack_ref

HOME = f"{PREFIX}/safeguarding"
CATEGORY_NAMES = {"asked-for-help": "asked for help (typed the help word, then chose to)"}


def register(console: Console) -> None:
    @console.page(HOME, Action.RECEIVE_ALERTS)
    async def listing(request: web.Request, person: Person) -> web.StreamResponse:
        done, ref = request.query.get("done"), ack_ref(ack_data(request.query.get("alert", "")))
        cases = await console.work(alert_log.cases, console.core.store)
        return console.render(
            person, "safeguarding/alerts.html", current=HOME, cases=cases, day=_day, category=_category,
            acknowledged=ref if done == "acknowledged" else None,
            unknown=msg.ALERT_UNKNOWN if done == "unknown" else None,
            routed=console.core.service.alerts.configured,
            waiting=sum(case.acknowledged_on is None for case in cases))

    @console.form(f"{HOME}/acknowledge", Action.RECEIVE_ALERTS)
    async def acknowledge(request: web.Request, person: Person) -> web.StreamResponse:
        ref = ack_ref(ack_data(str(request[FORM].get("alert", ""))))  # the chat buttons' own check
        if ref is None:
            raise Refusal(400, "That is not an alert's reference. Please go back and choose Acknowledge again.")
        service = console.core.service
        day = await service.call(service.acknowledge, ref)
        return console.see_other(f"{HOME}?done=unknown" if day is None else f"{HOME}?done=acknowledged&alert={ref}")


def _day(on: date) -> str:
    return f"{on.day} {on:%B %Y}"


def _category(name: str) -> str:
    return CATEGORY_NAMES.get(name, name.replace("-", " "))
