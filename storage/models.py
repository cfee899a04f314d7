"""The tables, in two domains that share no column.

Answers domain (pseudonymous): survey_version, survey_key, response, answer, conversation. A response is keyed by a
keyed pseudonym that only the bot can compute, and only while both the secret pepper and that survey's key salt exist.
Rows carry a date, never a time of day, and nothing that leads to a contact, chat or message.

Contacts domain (who to invite and remind): contact, participation. A contact's platform address is stored sealed
(encrypted) and found by a keyed lookup hash; participation knows only "completed or not", with no date, so it cannot
be lined up against responses.

Roles domain: role_grant (admin, scrutineer, safeguarding lead), found by the same keyed lookup as a contact, with
the address sealed; it shares no column with answers.

Also: processed_event (at-most-once processing of redelivered platform updates), audit_record (hash chain).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class SurveyVersion(SQLModel, table=True):
    """The exact text of every survey version that was published, so exports always show what was asked."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "version", name="uq_survey_version"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: str = Field(max_length=64, index=True)
    version: int
    title: str = Field(max_length=200)
    audience: str = Field(max_length=32)
    source: str = Field(sa_column=Column(Text, nullable=False))
    digest: str = Field(max_length=64)
    published_on: date


class SurveyKey(SQLModel, table=True):
    """The random salt behind one survey round's pseudonyms. Deleting it makes that round's answers unlinkable."""

    __tablename__ = "survey_key"

    survey_id: str = Field(max_length=64, primary_key=True)
    wave: int = Field(default=1, primary_key=True)
    salt: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_on: date
    destroyed_on: date | None = None
    # The round's last day of answers. Key destruction, free-text deletion and idle-state purges count from it
    # (bot.services.retention); None until a campaign (or `surveybot keys close`) sets it.
    closes_on: date | None = None
    # Reporting thresholds, locked when the round's first answer is stored (bot.services.policy.round_thresholds).
    min_group: int | None = None
    min_group_text: int | None = None


class Response(SQLModel, table=True):
    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("respondent", "survey_id", "version", "wave", name="uq_response_once"),)

    id: int | None = Field(default=None, primary_key=True)
    respondent: str = Field(max_length=64, index=True)
    survey_id: str = Field(max_length=64, index=True)
    version: int
    wave: int = 1
    channel: str = Field(max_length=16)
    completed: bool = False
    started_on: date
    completed_on: date | None = None


class Answer(SQLModel, table=True):
    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("response_id", "question_id", name="uq_answer_once"),)

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    question_id: str = Field(max_length=80)
    value: str = Field(sa_column=Column(Text, nullable=False))
    answered_on: date


class Conversation(SQLModel, table=True):
    """Open conversation state. Deleted on completion; purged when idle. `touched` is kept to the hour only."""

    __tablename__ = "conversation"

    session: str = Field(max_length=64, primary_key=True)
    survey_id: str = Field(max_length=64)
    version: int
    wave: int = 1
    state: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = 0
    touched: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PendingReply(SQLModel, table=True):
    """What a committed step must still send (persist, then send): written in the step's own transaction, deleted
    once sent, and sent again after a restart if it never went (bot.services.pending). One row per open chat at most: a
    newer
    step replaces it. `payload` is sealed (the address and the messages, encrypted with a key from the pepper), so
    a dump holds no platform id and no words; `claimed_until` is the sending process's lease, kept only while
    the row lives (seconds, normally)."""

    __tablename__ = "pending_reply"

    session: str = Field(max_length=64, primary_key=True)
    token: str = Field(max_length=32, unique=True)
    channel: str = Field(max_length=16)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ProcessedEvent(SQLModel, table=True):
    """Keyed hashes of platform update ids already handled, so a redelivered update is processed once."""

    __tablename__ = "processed_event"

    key: str = Field(max_length=64, primary_key=True)
    seen_on: date = Field(index=True)


class Contact(SQLModel, table=True):
    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    lookup: str = Field(max_length=64, unique=True)
    address: str = Field(sa_column=Column(Text, nullable=False))
    tags: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    opted_out: bool = False
    unreachable: bool = False
    joined_on: date


class Participation(SQLModel, table=True):
    """Who was invited to which survey round and whether they finished: for reminders, never linked to answers."""

    __tablename__ = "participation"
    __table_args__ = (
        UniqueConstraint("contact_id", "survey_id", "wave", name="uq_participation"),
        Index("ix_participation_round", "survey_id", "wave"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    survey_id: str = Field(max_length=64)
    wave: int = 1
    invited: bool = False
    started: bool = False
    completed: bool = False
    reminders: int = 0


class AuditRecord(SQLModel, table=True):
    """One link of the append-only hash chain: what happened to which ids, never any answer content."""

    __tablename__ = "audit_record"

    seq: int | None = Field(default=None, primary_key=True)
    on: date
    action: str = Field(max_length=40)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64, unique=True)  # two writers can never both extend the same link
    hash: str = Field(max_length=64, unique=True)


class RoleGrant(SQLModel, table=True):
    """Who may do what (bot.services.roles). Found by the keyed contact lookup; the address is sealed so `roles list`
    can say
    who without the database holding a platform id."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("role", "lookup", name="uq_role_grant"),)

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(max_length=32)
    lookup: str = Field(max_length=64, index=True)
    address: str = Field(sa_column=Column(Text, nullable=False))
    granted_on: date


class Campaign(SQLModel, table=True):
    """One survey version sent to an audience on a schedule (rules in bot.services.campaigns). `code` is what links
    carry."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    survey_id: str = Field(max_length=64)
    version: int
    tags: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    channels: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    opens_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closes_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reminders: str = Field(default="[3, 7]", sa_column=Column(Text, nullable=False, default="[3, 7]"))
    max_reminders: int = 2
    every_months: int | None = None
    quiet_from: int = 20
    quiet_until: int = 8
    stopped: bool = False
    created_on: date


class CampaignStep(SQLModel, table=True):
    """A step (invite, a reminder, close) of one wave that has been run: claimed once, by one process, ever."""

    __tablename__ = "campaign_step"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    wave: int = Field(primary_key=True)
    step: str = Field(max_length=20, primary_key=True)
    run_on: date
    planned: int = 0


class Outbox(SQLModel, table=True):
    """One message to one contact, planned and committed before anything is sent, then marked as it goes."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("campaign_id", "wave", "step", "contact_id", name="uq_outbox_once"),
        Index("ix_outbox_pending", "status", "channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    wave: int
    step: str = Field(max_length=20)
    contact_id: int = Field(foreign_key="contact.id")
    channel: str = Field(max_length=16)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    claimed_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class FeedbackTheme(SQLModel, table=True):
    """A theme the business unit groups one feedback round's items under ("you said, we did")."""

    __tablename__ = "feedback_theme"
    __table_args__ = (UniqueConstraint("survey_id", "wave", "name", name="uq_feedback_theme"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: str = Field(max_length=64)
    wave: int = 1
    name: str = Field(max_length=120)
    created_on: date


class FeedbackItem(SQLModel, table=True):
    """One thing a young person said, scrubbed, tagged with its feedback round and the date only: no platform id,
    handle, contact or time. Feedback given in a survey keeps its response's id, so /delete removes it too."""

    __tablename__ = "feedback_item"
    __table_args__ = (Index("ix_feedback_item_round", "survey_id", "wave"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: str = Field(max_length=64)
    wave: int = 1
    source: str = Field(max_length=16)  # "survey" or "message"
    text: str = Field(sa_column=Column(Text, nullable=False))
    received_on: date
    response_id: int | None = Field(default=None, index=True)
    theme_id: int | None = Field(default=None, foreign_key="feedback_theme.id", index=True)


class WeDid(SQLModel, table=True):
    """The partnership's reply to a theme. Writer and approver are keyed fingerprints (never ids), kept so the
    approver can be checked to be someone else; `send_after` is set by `send`, `planned_on` once the outbox has it."""

    __tablename__ = "we_did"

    id: int | None = Field(default=None, primary_key=True)
    theme_id: int = Field(foreign_key="feedback_theme.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)
    written_by: str = Field(max_length=64)
    written_on: date
    approved_by: str | None = Field(default=None, max_length=64)
    approved_on: date | None = None
    send_after: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    planned_on: date | None = None


class WeDidReaction(SQLModel, table=True):
    """One person's reaction to one reply. `voter` is a keyed hash of the person and that reply only, so a second tap
    replaces the first, yet reactions to two replies cannot be linked to each other or to anyone."""

    __tablename__ = "we_did_reaction"
    __table_args__ = (UniqueConstraint("reply_id", "voter", name="uq_we_did_reaction"),)

    id: int | None = Field(default=None, primary_key=True)
    reply_id: int = Field(foreign_key="we_did.id", index=True)
    voter: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    reacted_on: date


class PersonalLink(SQLModel, table=True):
    """An email's personal link (storage.personal_links): a keyed hash of its token, never the token, and whose
    contact (by keyed lookup) it opens. An `invite` link opens one campaign's round, and goes when that round's key is
    destroyed; a `stop` link (unsubscribe) opts its contact out. Nothing here leads to an answer."""

    __tablename__ = "personal_link"

    digest: str = Field(max_length=64, primary_key=True)
    kind: str = Field(max_length=8)
    lookup: str = Field(max_length=64, index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    survey_id: str | None = Field(default=None, max_length=64)
    wave: int | None = None
    made_on: date


class ConsolePass(SQLModel, table=True):
    """A way into the web console (storage.console_passes): a sign-in `link` (single use, ten minutes) or a signed-in
    `session` (idle for eight hours at most). Only a keyed hash of the token is kept, with the sealed address of the
    role holder it belongs to and their keyed lookup; nothing here leads to an answer."""

    __tablename__ = "console_pass"

    digest: str = Field(max_length=64, primary_key=True)
    kind: str = Field(max_length=8)
    lookup: str = Field(max_length=64, index=True)
    address: str = Field(sa_column=Column(Text, nullable=False))
    made_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    seen_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TeamRef(SQLModel, table=True):
    """A Microsoft Teams team the bot was added to (storage.team_refs), kept so `surveybot contacts import-teams` can
    ask Teams who is in it. Found by keyed hashes only: of the team's id (`lookup`) and of its name as the IT officer
    types it (`named`); the id and where to reach it (the Bot Connector's service URL) are sealed in `address`. The
    name itself is not kept. Nothing here leads to a person or an answer."""

    __tablename__ = "team_ref"

    id: int | None = Field(default=None, primary_key=True)
    lookup: str = Field(max_length=64, unique=True)
    named: str = Field(max_length=64, index=True)
    address: str = Field(sa_column=Column(Text, nullable=False))
    kept_on: date
