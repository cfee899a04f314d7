"""The method: how a report's figures were made, and what was suppressed in it and why.

The same parts end the HTML report and make up the evidence pack's method note (method.txt): the round's dates,
who was invited and who answered, the thresholds locked with the round, the rules they drive, every table where
something was suppressed (naming the labels whose counts are hidden, never the counts), and how waves were
compared. Plain words throughout: a scrutineer should be able to check the report against it without help.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from bot.engine.survey import Audience
from bot.reporting.figures import QuestionResult, WaveResult, people
from bot.reporting.report import Report
from bot.reporting.stats import ALPHA
from bot.reporting.summary import Part, label, period, response_rate, shown
from bot.reporting.tally import COMMENTS_SHOWN
from bot.services.disclosure import MIN_PERCENT_BASE, SECONDARY, Cell, small_reason
from bot.services.notices import long_date


def method(report: Report) -> list[Part]:
    wave = report.current
    parts = [the_round(report), protection(wave), suppressed(wave)]
    if report.comparison is not None:
        parts.append(suppressed(report.comparison.before, f" (wave {report.comparison.before.wave})"))
        parts.append(testing(report))
    parts.append(percentages())
    return parts


def the_round(report: Report) -> Part:
    wave = report.current
    facts = wave.facts
    versions = ", ".join(map(str, wave.versions))
    lines = [
        f"Survey: “{wave.survey.title}” (id {wave.survey_id}), for {people(wave.survey.audience)}; wave {wave.wave}. "
        f"Answers came from version{'s' if len(wave.versions) > 1 else ''} {versions}; the exact text of each, as "
        "published, is in the evidence pack (folder survey/).",
        "Round opened: " + (long_date(facts.opened_on) if facts.opened_on else "not recorded") + ". Last day of "
        "answers: " + (long_date(facts.closes_on) if facts.closes_on else "no close date set") + ".",
    ]
    if facts.first_completed and facts.last_completed:
        lines.append(f"Responses in this report were completed {period(facts.first_completed, facts.last_completed)}. "
                     "Answers carry a date only, never a time.")
    started = wave.responses.started
    total = (f"{shown(started)} started in all" if not started.suppressed else
             "how many started in all is not shown, so the small number cannot be worked out")
    lines.append(f"Responses: {shown(wave.responses.completed)} completed, {shown(wave.responses.not_completed)} "
                 f"started without finishing; {total}.")
    lines.append(response_rate(wave))
    lines.append(f"This report was made on {long_date(report.made_on)} from the responses stored that day.")
    if report.comparison is not None:
        before = report.comparison.before
        lines.append(f"It compares wave {wave.wave} with wave {before.wave} ({shown(before.responses.completed)} "
                     "completed responses).")
    return Part("The survey and this round", tuple(lines))


def protection(wave: WaveResult) -> Part:
    k, k_text = wave.thresholds.group, wave.thresholds.text
    locked = ("They were locked with the round when its first answer was stored, so later changes to the settings "
              "do not apply to it." if wave.locked else
              "The round has no answers yet, so these are the current settings; they lock with the first answer.")
    bullets = (
        f"No count from 1 to {k - 1} is shown: such a count shows as “{small_reason(k)}”. A true 0 is shown as 0. "
        f"A group of fewer than {k} is hidden whole.",
        "When a hidden count could be worked out from a total and the other counts, more counts are hidden as well "
        "(shown as “hidden”). When nothing else would protect a small count, the whole table is withheld.",
        "Tables that share totals are kept consistent: a table by group is shown only when its totals are hidden "
        "exactly where the question's own table and the responses table hide them; otherwise it is withheld.",
        f"No percentage is given on a base of fewer than {MIN_PERCENT_BASE}, or for a hidden count.",
        f"Averages are given only on at least {max(k, MIN_PERCENT_BASE)} answers, and for a scale only when every "
        "count behind the average is shown (an average of partly hidden counts could give them away).",
        f"Written comments appear only when at least {k_text} people wrote one, never broken down by group, and as "
        f"a random selection (at most {COMMENTS_SHOWN}) in a random order that is the same each time the report is "
        "made. They were scrubbed of phone numbers, emails, postcodes, NHS and National Insurance numbers, links, "
        "handles and listed names before they were stored.",
        "Only the breakdowns the survey declared are used, and the report takes no other filter, so two reports "
        "cannot be subtracted to single someone out.",
    )
    return Part("How people are protected from being identified", (
        f"Thresholds for this round: groups of at least {k}; written comments from at least {k_text} people. "
        + locked + own_threshold(wave),), bullets)


def own_threshold(wave: WaveResult) -> str:
    """Where the group threshold came from when the survey file set its own (`min_group`), and why that is safe."""
    own = wave.survey.min_group
    if own is None:
        return ""
    if wave.survey.audience is Audience.PARTNERS:
        return (f" The survey file sets its own group threshold of {own}: each answer comes from an organisation "
                "speaking for itself, not from a person, so a small group does not single anyone out. It is never "
                "below 3.")
    return f" The survey file raises the group threshold to at least {own}."


def suppressed(wave: WaveResult, which: str = "") -> Part:
    k = wave.thresholds.group
    lines: list[str] = []
    responses = wave.responses
    lines += _cells("Responses", {"completed": responses.completed, "started but not completed":
                                  responses.not_completed, "started in all": responses.started}, k)
    if responses.invited is not None:
        lines += _cells("Invitations", {"invited": responses.invited,
                                        "responded": responses.responded or Cell(0)}, k)
    for name, counts in responses.groups.items():
        title = f"Completed responses by {label(name)}"
        if counts is None:
            lines.append(f"{title}: withheld, because the completed count it adds up to could not be shown, or its "
                         "own total had to be hidden.")
        else:
            lines += _cells(title, {**counts.cells, "total": counts.total}, k)
    for result in wave.questions:
        lines += _question(result, k)
    for comments in wave.comments:
        if comments.withheld and comments.withheld != "nobody wrote one":
            lines.append(f"Comments on “{comments.question.text}”"
                         f"{' (other answers)' if comments.column != comments.question.id else ''}: "
                         f"{comments.withheld}.")
    paragraphs = () if lines else ("Nothing had to be suppressed.",)
    return Part(f"What was suppressed{which}, and why", paragraphs, tuple(lines))


def _cells(title: str, cells: dict[str, Cell], k: int) -> list[str]:
    """One line naming each hidden count of a table by its label, with what the report shows instead."""
    small = [name for name, cell in cells.items() if cell.small]
    hidden = [name for name, cell in cells.items() if cell.suppressed and cell.reason == SECONDARY]
    withheld = [name for name, cell in cells.items() if cell.suppressed and not cell.small and
                cell.reason != SECONDARY]
    parts = []
    if small:
        parts.append(f"{_names(small)} show{'s' if len(small) == 1 else ''} “{small_reason(k)}”, because fewer "
                     f"than {k} people are in {'it' if len(small) == 1 else 'each'}")
    if hidden:
        parts.append(f"{_names(hidden)} show{'s' if len(hidden) == 1 else ''} “hidden”, so that a small count "
                     "cannot be worked out from the total")
    if withheld:
        parts.append(f"{_names(withheld)} {'is' if len(withheld) == 1 else 'are'} withheld")
    return [f"{title}: " + "; ".join(parts) + "."] if parts else []


def _names(names: Iterable[str]) -> str:
    quoted = [f"“{name}”" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _question(result: QuestionResult, k: int) -> list[str]:
    title = f"“{result.question.text}”"
    if result.withheld:
        return [f"{title}: {result.withheld}."]
    lines = _cells(title, {row.label: row.cell for row in result.rows}, k)
    for group in result.groups:
        where = f"{title} by {label(group.breakdown)}"
        if group.withheld:
            lines.append(f"{where}: {group.withheld}.")
            continue
        cells = {f"{row.group} × {column}": cell for row in group.rows
                 for column, cell in zip(group.columns, row.cells, strict=True)}
        cells.update({f"{row.group} (all)": row.total for row in group.rows})
        lines += _cells(where, cells, k)
    if result.mean_note:
        lines.append(f"{title}: {result.mean_note}.")
    return lines


def testing(report: Report) -> Part:
    assert report.comparison is not None
    comparison = report.comparison
    bullets = [
        "The waves are compared as groups of people, not as the same people answering twice: nothing links a "
        "person's answers across waves.",
        "A share (“Yes”, a right answer, one option of a multiple choice) is compared with a two-proportion z-test; "
        "a whole single-choice question with a chi-square test; scales and numbers with a Mann-Whitney U test.",
        f"A change is called significant when the test gives p < {ALPHA} (two-sided): a change that size would "
        "happen by chance less than 1 time in 20 if nothing had really changed. With many questions and options "
        "tested, an occasional significant result can still be chance.",
        "A test is run only when every count it uses is shown in both waves, and is marked “not tested” when there "
        "are too few answers for it to be reliable (an expected count under 5).",
    ]
    bullets += [f"Not compared: “{item.question.text}”: {item.reason}." for item in comparison.not_compared]
    return Part("How the waves were compared", (), tuple(bullets))


def percentages() -> Part:
    return Part("Percentages", (
        "Percentages are of the people who answered the question, when that number can be shown; otherwise of "
        "everyone who completed the survey, and the table says so. They are rounded to whole numbers (a half "
        "rounds up). In a multiple-choice question people could choose several options, so its percentages can "
        "add up to more than 100%. “(no answer)” counts people who skipped a question; “not asked”, people an "
        "earlier answer took past it.",
    ))


def render_text(parts: list[Part], title: str) -> str:
    """The method note as plain text, wrapped for reading anywhere."""
    out = [title, "=" * len(title), ""]
    for part in parts:
        out += [part.heading, "-" * len(part.heading)]
        for paragraph in part.paragraphs:
            out += [*textwrap.wrap(paragraph, 100), ""]
        for bullet in part.bullets:
            out += textwrap.wrap(bullet, 100, initial_indent="* ", subsequent_indent="  ")
        if part.bullets:
            out.append("")
    return "\n".join(out).rstrip() + "\n"
