""""You said, we did": the business unit reviews young people's feedback, groups it into themes, writes replies that a
second person approves, and sends them to everyone who completed the round; the young people react.

The use cases here are shared by the command line (bot.cli.yousaid) and the chat admin commands
(bot.services.chat_admin). Every change checks the acting person's role first (bot.services.roles): writing needs the
admin role,
approving the youth participation lead role, and the approver must not be the writer. Refusals and changes are
audited with ids and keyed fingerprints only, never names or platform ids.

Replies travel through the campaign outbox (bot.services.broadcast): `send` only marks a reply as wanted after quiet
hours;
the running bot's sweep plans it (once, with a claimed campaign step) to the round's completion list.

Feedback itself arrives through SurveyService.feedback (a free message) or a survey's `feedback: true` questions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.domain.address import Address
from bot.engine import messages as msg
from bot.engine.survey import Audience
from bot.services.campaigns import out_of_quiet_hours, rules_of
from bot.services.disclosure import suppress_counts
from bot.services.policy import Policy, Thresholds, round_thresholds
from bot.services.privacy import Keys
from bot.services.roles import Action, Forbidden, Roles
from bot.services.surveyfiles import SurveyCatalogue
from storage import conversations, rounds
from storage import yousaid as table
from storage.models import WeDid
from storage.unit_of_work import Store, UnitOfWork

STATUSES = tuple(msg.YOUSAID_STATUS)  # heard, planned, in-progress, done
MAX_REPLY = 600
MAX_THEME = 120
MAX_IDS = 1000


class YouSaidError(Exception):
    """A review command was given something it cannot use; the message names the argument."""


# --- parsing what people type or press --------------------------------------------------------------------------------

_RANGE = re.compile(r"([0-9]{1,9})(?:-([0-9]{1,9}))?")  # ASCII digits only, matched whole


def parse_ids(text: str, what: str = "ITEMS") -> list[int]:
    """Item ids as typed: `3`, `1,4,7`, `2-5`, `1, 3-4` (spaces allowed). Sorted, without repeats; raises
    YouSaidError naming `what` and the bad part."""
    parts = [p for p in re.split(r"[\s,]+", text) if p]
    if not parts:
        raise YouSaidError(f"{what}: give item numbers, like 3 or 1,4,7 or 2-5")
    ids: set[int] = set()
    for part in parts:
        match = _RANGE.fullmatch(part)
        if match is None:
            raise YouSaidError(f"{what}: `{part[:20]}` is not an item number or a range like 2-5")
        low = int(match[1])
        high = int(match[2]) if match[2] else low
        if low < 1 or high < low:
            raise YouSaidError(f"{what}: `{part}` should count up from 1, like 2-5")
        if high - low + len(ids) >= MAX_IDS:
            raise YouSaidError(f"{what}: `{part}` names too many items (at most {MAX_IDS} at once)")
        ids.update(range(low, high + 1))
    return sorted(ids)


def parse_status(text: str) -> str:
    status = re.sub(r"[\s_]+", "-", text.strip().lower())
    if status not in STATUSES:
        choices = ", ".join(s.replace("-", " ") for s in STATUSES)
        raise YouSaidError(f"STATUS: `{' '.join(text.split())[:20]}` should be one of {choices}")
    return status


def reply_text(theme_name: str, reply: WeDid) -> str:
    """The words a young person receives for a reply."""
    return msg.YOUSAID_REPLY.format(theme=theme_name, text=reply.text, status=msg.YOUSAID_STATUS[reply.status])


def shown(count: int, k: int) -> str:
    """A count as it may be published: 0 stays 0, below the threshold becomes "fewer than k"."""
    return suppress_counts({"count": count}, k).cells["count"].shown()


def reactions_shown(reactions: Counter[str], k: int) -> dict[str, str]:
    """A reply's reaction counts as they may be published, by the report's rule for one group: when fewer than k
    reacted at all, every count is hidden, zeros too (a 0 beside "fewer than 10" would say what the rest chose)."""
    counts = {kind: reactions.get(kind, 0) for kind in msg.YOUSAID_REACTIONS}
    table = suppress_counts(counts, k, respondents=sum(counts.values()))  # one reaction per person: no sums shown
    return {kind: cell.shown() for kind, cell in table.cells.items()}


# --- what reviews and boards show -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    id: int
    survey_id: str
    wave: int
    source: str
    text: str
    received_on: date
    theme: str | None


@dataclass(frozen=True)
class ReplyView:
    id: int
    theme_id: int
    text: str
    status: str
    written_on: date
    approved: bool
    approved_on: date | None
    sending: bool
    sent: int
    reactions: Counter[str]


@dataclass(frozen=True)
class ThemeView:
    id: int
    survey_id: str
    wave: int
    name: str
    items: int
    quotes: tuple[str, ...]  # empty unless the round's free-text threshold allows them
    replies: tuple[ReplyView, ...]


@dataclass(frozen=True)
class Board:
    title: str
    survey_id: str
    wave: int | None
    thresholds: Thresholds
    themes: tuple[ThemeView, ...]
    made_on: date


class YouSaid:
    def __init__(self, store: Store, keys: Keys, catalogue: SurveyCatalogue, clock: Callable[[], datetime],
                 policy: Policy | None = None) -> None:
        self.store = store
        self.keys = keys
        self.catalogue = catalogue
        self.clock = clock
        self.policy = policy or Policy()
        self.roles = Roles(store, keys, clock)

    # --- the business unit ---------------------------------------------------------------------------------------
    def items(self, survey_id: str | None = None, wave: int | None = None, everything: bool = False) -> list[Item]:
        """Feedback items, new ones only unless `everything`."""
        with self.store.unit() as uow:
            rows = table.items(uow, survey_id, wave, new_only=not everything)
            names = {t.id: t.name for t in table.themes(uow, survey_id, wave)}
        return [Item(r.id or 0, r.survey_id, r.wave, r.source, r.text, r.received_on,
                     names.get(r.theme_id) if r.theme_id else None) for r in rows]

    def theme(self, who: Address, name: str, item_ids: list[int]) -> tuple[int, int]:
        """Put items under a theme of their round (made when new); returns (theme id, items now in it)."""
        name = " ".join(name.split())
        if not 1 <= len(name) <= MAX_THEME:
            raise YouSaidError(f"NAME: a theme's name should be 1 to {MAX_THEME} characters")
        self._require(who, Action.WRITE_YOUTH_REPLIES, "theme")
        today = self.clock().date()
        with self.store.unit() as uow:
            found = table.items_by_id(uow, item_ids)
            missing = sorted(set(item_ids) - {r.id for r in found})
            if missing:
                raise YouSaidError(f"ITEMS: there is no item {missing[0]} (see `surveybot yousaid list`)")
            rounds_named = {(r.survey_id, r.wave) for r in found}
            if len(rounds_named) > 1:
                raise YouSaidError("ITEMS: these items come from different rounds; theme each round on its own")
            survey_id, wave = rounds_named.pop()
            row = table.ensure_theme(uow, survey_id, wave, name, today)
            assert row.id is not None
            table.set_theme(uow, item_ids, row.id)
            count = table.item_counts(uow, [row.id]).get(row.id, 0)
            uow.audit("yousaid.themed", {"theme": row.id, "items": item_ids, "by": self._who(who)}, today)
        return row.id, count

    def reply(self, who: Address, theme_id: int, status: str, text: str) -> int:
        """Write a "we did" reply to a theme; it waits for approval. Returns the reply's id."""
        text = text.strip()
        if not text:
            raise YouSaidError("TEXT: write what the partnership did")
        if len(text) > MAX_REPLY:
            raise YouSaidError(f"TEXT: keep a reply to {MAX_REPLY} characters (it is {len(text)})")
        status = parse_status(status)
        self._require(who, Action.WRITE_YOUTH_REPLIES, "reply")
        today = self.clock().date()
        with self.store.unit() as uow:
            if table.theme(uow, theme_id) is None:
                raise YouSaidError(f"THEME: there is no theme {theme_id} (see `surveybot yousaid themes`)")
            row = table.add_reply(uow, theme_id, text, status, self._who(who), today)
            assert row.id is not None
            uow.audit("yousaid.reply_written", {"reply": row.id, "theme": theme_id, "status": status,
                                                "by": self._who(who)}, today)
        return row.id

    def approve(self, who: Address, reply_id: int) -> None:
        """The youth participation lead approves a reply's wording; never the person who wrote it."""
        self._require(who, Action.APPROVE_YOUTH_REPLIES, "approve")
        today = self.clock().date()
        with self.store.unit() as uow:
            row = self._reply(uow, reply_id)
            if row.written_by == self._who(who):
                uow.audit("yousaid.refused", {"command": "approve", "reply": reply_id, "reason": "own reply"}, today)
                refused = True
            else:
                refused = False
                if row.approved_by is None:
                    row.approved_by, row.approved_on = self._who(who), today
                    uow.session.add(row)
                    uow.audit("yousaid.reply_approved", {"reply": reply_id, "by": self._who(who)}, today)
        if refused:
            raise Forbidden("a reply must be approved by someone other than the person who wrote it")

    def send(self, who: Address, reply_id: int) -> datetime:
        """Ask for an approved reply to go to everyone who completed its round; returns when it will start (after
        quiet hours). The running bot plans and sends it."""
        self._require(who, Action.WRITE_YOUTH_REPLIES, "send")
        now = self.clock()
        with self.store.unit() as uow:
            row = self._reply(uow, reply_id)
            if row.approved_by is None:
                raise YouSaidError(f"REPLY: reply {reply_id} is not approved yet (the youth participation lead "
                                   f"approves it with `yousaid approve {reply_id}`)")
            if row.send_after is not None:
                raise YouSaidError(f"REPLY: reply {reply_id} has already been sent (or is on its way)")
            theme = table.theme(uow, row.theme_id)
            assert theme is not None
            campaign = table.campaign_of_round(uow, theme.survey_id)
            if campaign is None:
                raise YouSaidError(f"REPLY: round {theme.survey_id} wave {theme.wave} has no campaign, so there is no "
                                   "completion list to send to")
            start = out_of_quiet_hours(now, rules_of(campaign, now.tzinfo or UTC))
            row.send_after = start.astimezone(UTC)
            uow.session.add(row)
            uow.audit("yousaid.send_asked", {"reply": reply_id, "campaign": campaign.code, "by": self._who(who)},
                      now.date())
        return start

    def themes(self, survey_id: str | None = None, wave: int | None = None) -> list[ThemeView]:
        return list(self.board(survey_id, wave).themes)

    def board(self, survey_id: str | None = None, wave: int | None = None) -> Board:
        """Everything the published page shows (see read_board)."""
        known = survey_id is not None and self.catalogue.has(survey_id)
        survey = self.catalogue.latest(survey_id) if known and survey_id else None
        return read_board(self.store, self.policy, survey_id, wave, self.clock().date(),
                          survey.title if survey else "Young people",
                          survey.audience if survey else Audience.YOUNG_PEOPLE)

    # --- young people -------------------------------------------------------------------------------------------
    def react(self, address: Address, reply_id: int, kind: str, event_key: str | None = None) -> str | None:
        """A young person pressed a reaction under a reply: counted once per person and reply (a new choice
        replaces the old one). Returns the words to show them, or None for a redelivered press."""
        now = self.clock()
        with self.store.unit() as uow:
            if event_key is not None and not conversations.claim_event(
                    uow, self.keys.event(address.channel, event_key), now.date()):
                return None
            if not table.was_sent(uow, reply_id, self.keys.contact_lookup(address)):
                return msg.YOUSAID_NOT_FOR_YOU
            voter = self.keys.audit(f"yousaid-reaction|{reply_id}|".encode() + address.identity())
            result = table.react(uow, reply_id, voter, kind, now.date())
            if result != "same":
                uow.audit("yousaid.reaction", {"reply": reply_id, "kind": kind, "change": result}, now.date())
        if result == "same":  # a second press of the same choice: counted once, and said so
            return msg.YOUSAID_ALREADY
        if kind == "more":  # the kind reply once, not again on a second press
            return msg.YOUSAID_TELL_ME_MORE
        return msg.YOUSAID_REACTED

    def words(self, reply_id: int) -> str | None:
        """A reply's words as young people received them, for a channel that redraws its card whole to tick a
        choice (Teams: a press carries no card); None once the reply has gone."""
        with self.store.unit() as uow:
            found = outgoing(uow, table.reply_step(reply_id))
        return found[1] if found is not None else None

    # --- inside ----------------------------------------------------------------------------------------------------
    def refused(self, who: Address, command: str) -> None:
        """Record a refusal: which command, on which channel, never who."""
        with self.store.unit() as uow:
            self.roles.audit_refusal(uow, "yousaid.refused", {"command": command, "channel": who.channel}, who,
                                     self.clock().date(), kind=("command", "channel"))

    def _require(self, who: Address, action: Action, command: str) -> None:
        try:
            self.roles.require_to(action, who)
        except Forbidden:
            self.refused(who, command)
            raise

    def _reply(self, uow: UnitOfWork, reply_id: int) -> WeDid:
        row = table.reply(uow, reply_id)
        if row is None:
            raise YouSaidError(f"REPLY: there is no reply {reply_id} (see `surveybot yousaid themes`)")
        return row

    def _who(self, who: Address) -> str:
        return self.keys.audit(b"yousaid-staff|" + who.identity())


def read_board(store: Store, policy: Policy, survey_id: str | None, wave: int | None, today: date,
               title: str = "Young people", audience: Audience = Audience.YOUNG_PEOPLE) -> Board:
    """Per theme: how many things were said, quotes only where the round's free-text threshold allows, every reply
    with its status, how many it went to and its reactions. Counts are raw here; the pages suppress them."""
    with store.unit() as uow:
        themes = table.themes(uow, survey_id, wave)
        ids = [t.id for t in themes if t.id is not None]
        counts = table.item_counts(uow, ids)
        texts: dict[int, list[str]] = {i: [] for i in ids}
        for survey, wave in dict.fromkeys((t.survey_id, t.wave) for t in themes):  # each round once, not per theme
            for row in table.items(uow, survey, wave):
                if row.theme_id in texts:
                    texts[row.theme_id].append(row.text)
        replies = table.replies(uow, ids)
        reply_ids = [r.id for r in replies if r.id is not None]
        reactions = table.reaction_counts(uow, reply_ids)
        sent = table.sent_counts(uow, reply_ids)
        thresholds = {}
        for t in themes:
            key = rounds.get(uow, t.survey_id, t.wave)
            thresholds[(t.survey_id, t.wave)] = round_thresholds(policy, audience, key.min_group if key else None,
                                                                 key.min_group_text if key else None)
    views = []
    for t in themes:
        assert t.id is not None
        k = thresholds[(t.survey_id, t.wave)]
        quotes = tuple(sorted(q for q in texts[t.id] if q)) if counts.get(t.id, 0) >= k.text else ()
        mine = tuple(ReplyView(r.id or 0, r.theme_id, r.text, r.status, r.written_on, r.approved_by is not None,
                               r.approved_on, r.send_after is not None, sent.get(r.id or 0, 0),
                               reactions.get(r.id or 0, Counter())) for r in replies if r.theme_id == t.id)
        views.append(ThemeView(t.id, t.survey_id, t.wave, t.name, counts.get(t.id, 0), quotes, mine))
    k = thresholds[(themes[0].survey_id, themes[0].wave)] if themes else policy.thresholds(audience)
    return Board(title, survey_id or "", wave, k, tuple(views), today)


def plan_due(uow: UnitOfWork, now: datetime) -> list[tuple[str, int, str, int]]:
    """Plan every approved reply whose time has come: one claimed campaign step per reply, one outbox row per person
    who completed the round. Returns (campaign code, wave, step, planned) for each. Called by Broadcaster.run_due."""
    from storage import campaigns as store_campaigns

    ran = []
    for row in table.due_replies(uow, now.astimezone(UTC)):
        theme = table.theme(uow, row.theme_id)
        assert theme is not None and row.id is not None
        campaign = table.campaign_of_round(uow, theme.survey_id)
        step = table.reply_step(row.id)
        row.planned_on = now.date()
        uow.session.add(row)
        if campaign is None or not store_campaigns.claim_step(uow, campaign.id or 0, theme.wave, step, now.date()):
            continue
        people = table.completers(uow, theme.survey_id, theme.wave)
        planned = store_campaigns.plan(uow, campaign, theme.wave, step, people)
        uow.audit("yousaid.reply_planned", {"reply": row.id, "campaign": campaign.code, "wave": theme.wave,
                                            "planned": planned}, now.date())
        ran.append((campaign.code, theme.wave, step, planned))
    return ran


def outgoing(uow: UnitOfWork, step: str) -> tuple[int, str] | None:
    """The reply an outbox step carries, as (id, the words young people get), or None if it has gone."""
    digits = step.removeprefix(table.REPLY_STEP)
    row = table.reply(uow, int(digits)) if digits.isdigit() else None
    theme = table.theme(uow, row.theme_id) if row is not None else None
    if row is None or theme is None or row.id is None:
        return None
    return row.id, reply_text(theme.name, row)
