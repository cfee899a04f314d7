"""Campaign commands typed in chat by the business unit and scrutineers: list, status, remind, close; and
`yousaid ...` for "you said, we did" (bot.services.yousaid_chat).

Channel-independent: the Telegram and Slack adapters pass the words typed and who typed them, and send back the text
this returns. Every command checks its role (bot.services.roles) first; a refusal is audited and says which role is
needed,
never anything about the campaign.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.address import Address
from bot.services import campaign_admin, yousaid_chat
from bot.services.contact_book import CampaignError
from bot.services.core import Core
from bot.services.roles import Action, Forbidden, Roles
from storage import campaigns as store_campaigns

VERBS: dict[str, Action] = {
    "campaigns": Action.READ_RESULTS,
    "status": Action.READ_RESULTS,
    "remind": Action.CHANGE_SURVEYS,
    "close": Action.CHANGE_SURVEYS,
}
YOUSAID = "yousaid"
SIGNIN = "signin"  # a one-time link into the web console (bot.services.console_access); any role may ask
USAGE = ("Campaign commands: campaigns (list them), status CODE, remind CODE (a reminder now to those who have not "
         "finished), close CODE (stop it now).")


class ChatAdmin:
    """Built once by bot.app for the channels that take typed admin commands, on the core parts (never `App`)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.roles = Roles(core.store, core.keys, core.service.clock)
        self.yousaid = yousaid_chat.make(core)
        # the web console's sign-in link for a person, or a sentence saying why not (set by bot.app with the console)
        self.signin: Callable[[Address, str], str] | None = None

    def handles(self, verb: str) -> bool:
        return verb in VERBS or verb in (YOUSAID, SIGNIN)

    def run(self, address: Address, words: list[str]) -> str:
        """Runs on the database thread; returns the reply to send (to the person only)."""
        verb = words[0].lower() if words else ""
        if verb == YOUSAID:  # "you said, we did": each use case checks its own role and audits refusals
            return yousaid_chat.chat(self.yousaid, address, words[1:])
        if verb == SIGNIN:  # the console checks the role, audits a refusal and limits how many links are made
            if self.signin is None:
                return "The web console is not running here."
            return self.signin(address, address.channel)
        if verb not in VERBS:
            return USAGE
        today = self.core.service.clock().date()
        try:
            self.roles.require_to(VERBS[verb], address)
        except Forbidden as refusal:
            with self.core.store.unit() as uow:
                self.roles.audit_refusal(uow, "admin.refused", {"command": verb, "channel": address.channel}, address,
                                         today, kind=("command", "channel"))
            return f"Sorry, {refusal}."
        with self.core.store.unit() as uow:
            uow.audit("admin.command", {"command": verb, "channel": address.channel}, today)
        try:
            return self._do(verb, words[1:])
        except CampaignError as exc:
            return str(exc)

    def _do(self, verb: str, rest: list[str]) -> str:
        if verb == "campaigns":
            codes = campaign_admin.campaign_codes(self.core)
            if not codes:
                return "There are no campaigns yet."
            return "\n".join(campaign_admin.render(campaign_admin.describe(self.core, code))[0] for code in codes)
        if not rest:
            return f"Which campaign? For example: {verb} {self._example()}"
        code = rest[0].lower()
        if verb == "status":
            return "\n".join(campaign_admin.render(campaign_admin.describe(self.core, code)))
        if verb == "close":
            return campaign_admin.close_campaign(self.core, code)
        planned, why = campaign_admin.remind(self.core, code)  # names an unknown code clearly
        return f"A reminder is on its way to {planned} people." if planned else f"No reminder sent: {why}."

    def _example(self) -> str:
        with self.core.store.unit() as uow:
            campaigns = store_campaigns.all_campaigns(uow)
        return campaigns[-1].code if campaigns else "CODE"
