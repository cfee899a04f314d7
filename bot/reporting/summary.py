"""The report's summary, organised around the scrutineer's three questions (Bexley's): how much are we doing, how
well are we doing it, and what difference are we making.

Plain sentences built only from the published figures (bot.reporting.figures), so the summary can be pasted into an
annual assessment as it is and never says more than the tables do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.engine.survey import YES, Kind
from bot.reporting.compare import mean_text, percent
from bot.reporting.figures import QuestionResult, WaveResult, people
from bot.reporting.report import Report
from bot.services.disclosure import Cell
from bot.services.notices import long_date


@dataclass(frozen=True)
class Part:
    """A heading with paragraphs and bullet points: the unit both the HTML report and the method note are made of."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()


def upper_first(text: str) -> str:
    """The first letter a capital, the rest as it is (str.capitalize would lowercase "Police" or "NHS")."""
    return text[:1].upper() + text[1:]


def shown(cell: Cell) -> str:
    """A count as the report prints it: "12", "0", "fewer than 5", "hidden" or "withheld"."""
    return cell.shown() if cell.suppressed else f"{cell.count:,}"


def label(text: str) -> str:
    return text.replace("_", " ")


def three_questions(report: Report) -> list[Part]:
    return [how_much(report.current), how_well(report.current), what_difference(report)]


def how_much(wave: WaveResult) -> Part:
    who = people(wave.survey.audience)
    responses = wave.responses
    facts = wave.facts
    paragraphs = []
    if responses.completed.suppressed:
        paragraphs.append(f"{upper_first(shown(responses.completed))} {who} completed the survey in wave "
                          f"{wave.wave}: too few to report on safely.")
    else:
        when = ""
        if facts.first_completed and facts.last_completed:
            when = " " + period(facts.first_completed, facts.last_completed)
        paragraphs.append(f"{shown(responses.completed)} {who} completed the survey in wave {wave.wave}{when}.")
    paragraphs.append(response_rate(wave))
    if not responses.not_completed.suppressed and responses.not_completed.count == 0:
        paragraphs.append("Everyone who started it finished it.")
    else:
        paragraphs.append(f"{upper_first(shown(responses.not_completed))} more started it without finishing.")
    bullets = []
    for name, counts in responses.groups.items():
        if counts is None:
            bullets.append(f"Completed responses by {label(name)}: withheld (too few to show safely).")
        else:
            parts = ", ".join(f"{group} {shown(cell)}" for group, cell in counts.cells.items())
            hidden = any(cell.suppressed and not cell.small for cell in counts.cells.values())
            bullets.append(f"Completed responses by {label(name)}: {parts}." + (
                " (“hidden” stops a small group being worked out from the total.)" if hidden else ""))
    return Part("How much are we doing?", tuple(paragraphs), tuple(bullets))


def period(first: date, last: date) -> str:
    """"on 2 March 2026" or "between 2 March 2026 and 20 March 2026"."""
    if first == last:
        return f"on {long_date(first)}"
    return f"between {long_date(first)} and {long_date(last)}"


def response_rate(wave: WaveResult) -> str:
    responses = wave.responses
    if responses.invited is None:
        return ("Invited: not recorded. Invitations are recorded when a campaign sends the survey, and none were "
                "for this wave, so there is no response rate; the figures are of the people who responded.")
    if responses.rate is None:
        return (f"{upper_first(shown(responses.invited))} were invited, and {shown(responses.responded or Cell(0))} "
                "of them responded; too few to give a response rate safely.")
    return (f"{shown(responses.invited)} were invited and {shown(responses.responded or Cell(0))} of them responded: "
            f"a response rate of {percent(responses.rate)}.")


def how_well(wave: WaveResult) -> Part:
    bullets = []
    correct_shares = []
    knowledge = [q for q in wave.questions if q.question.kind is Kind.KNOWLEDGE]
    for result in knowledge:
        text = f"“{result.question.text}”"
        if result.correct is not None and result.correct.percent is not None:
            correct_shares.append(result.correct.percent)
            bullets.append(f"{text}: {percent(result.correct.percent)} chose the right answer "
                           f"(“{result.question.correct}”), {_of(result)}.")
        elif result.at_least is not None:
            bullets.append(f"{text}: at least {floor_percent(result.at_least)} chose the right answer "
                           f"(“{result.question.correct}”), {_of(result)}; {EXACT_HIDDEN}.")
        else:
            bullets.append(f"{text}: too few answers to give a percentage correct safely.")
    for result in wave.questions:
        question = result.question
        if question.kind is Kind.YESNO and not question.breakdown:
            yes = result.row(YES)
            if yes is not None and yes.percent is not None:
                bullets.append(f"“{question.text}”: {percent(yes.percent)} said yes, {_of(result)}.")
            elif result.at_least is not None:
                bullets.append(f"“{question.text}”: at least {floor_percent(result.at_least)} said yes, "
                               f"{_of(result)}; {EXACT_HIDDEN}.")
            else:
                bullets.append(f"“{question.text}”: too few answers to give a percentage safely.")
        elif question.kind is Kind.SCALE:
            if result.mean is not None:
                ends = f"from {int(question.low or 0)} to {int(question.high or 0)}"
                if question.low_label and question.high_label:
                    ends = (f"from {int(question.low or 0)} ({question.low_label}) to {int(question.high or 0)} "
                            f"({question.high_label})")
                bullets.append(f"“{question.text}”: an average of {mean_text(result.mean)} on a scale {ends}, "
                               f"from {result.answered:,} answers.")
            else:
                bullets.append(f"“{question.text}”: {result.mean_note or 'no average'}.")
    paragraphs = []
    if len(correct_shares) == len(knowledge) and len(knowledge) > 1:
        paragraphs.append(f"Across the {len(knowledge)} knowledge checks, on average "
                          f"{percent(sum(correct_shares) / len(correct_shares))} of answers were right.")
    if not bullets:
        paragraphs.append("This survey has no knowledge checks, yes/no questions or scales; the answers to each "
                          "question are below.")
    return Part("How well are we doing it?", tuple(paragraphs), tuple(bullets))


EXACT_HIDDEN = "the exact figure is not shown, because so few gave another answer that it would reveal how many"


def floor_percent(value: float) -> str:
    """A lower bound as a percentage: rounded down, so "at least" stays true."""
    return f"{int(value)}%"


def _of(result: QuestionResult) -> str:
    if result.percent_of == "answered":
        return f"of the {result.answered:,} who answered"
    return f"of all {shown(result.total)} who completed the survey"


def what_difference(report: Report) -> Part:
    wave = report.current.wave
    comparison = report.comparison
    if comparison is None:
        others = [w for w in report.waves if w != wave]
        if not others:
            return Part("What difference are we making?", (
                "This is the survey's only wave so far, so there is nothing to compare with yet. Running the same "
                "survey again later, as a new wave, will show what has changed.",))
        return Part("What difference are we making?", (
            f"This report covers wave {wave} only. The survey also has wave {', '.join(map(str, others))}: a report "
            "comparing the waves shows what has changed.",))
    before = comparison.before
    significant = [c for c in comparison.changes if c.significant]
    rest = [c for c in comparison.changes if not c.significant]
    paragraphs = [f"Compared with wave {before.wave} ({shown(before.responses.completed)} completed responses), "
                  f"{len(significant)} of the {len(comparison.changes)} questions compared changed significantly."]
    if comparison.not_compared:
        paragraphs.append(f"{len(comparison.not_compared)} could not be compared; “Change between waves” says why.")
    return Part("What difference are we making?", tuple(paragraphs), tuple(c.sentence for c in [*significant, *rest]))
