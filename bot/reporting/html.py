"""The report as one self-contained HTML file: inline CSS and SVG, no scripts, fonts, images or links to fetch.

It reads top to bottom the way a scrutineer works: the three questions first, then who responded, each question's
answers (charts, Wood-style tables with the base, tables by group), the change between waves, comments, and the
method. It prints to PDF cleanly (print CSS: A4, no table or chart split across pages). Everything shown comes from
bot.reporting.figures, already suppressed. The page itself is bot/templates/report.html, autoescaped, so every
piece of text is escaped there; this module works out the sentences and the SVG charts it shows. The file has no
time of day in it and the same report gives the same bytes.
"""

from __future__ import annotations

from bot import templates
from bot.engine import messages as msg
from bot.engine.survey import Kind, Question, Survey
from bot.reporting.charts import Bar, bars
from bot.reporting.compare import AVERAGE, Comparison, mean_text, p_text, percent
from bot.reporting.figures import GroupTable, QuestionResult, WaveResult, people
from bot.reporting.method import method
from bot.reporting.report import Report
from bot.reporting.summary import (
    EXACT_HIDDEN,
    floor_percent,
    label,
    shown,
    three_questions,
    upper_first,
)
from bot.reporting.tally import UNANSWERED
from bot.services import yousaid
from bot.services.disclosure import Cell, percentage
from bot.services.notices import long_date
from bot.services.yousaid import Board


def render(report: Report) -> str:
    """The report page, drawn from templates/report.html; this module gives it the sentences and charts."""
    wave = report.current
    title = f"{wave.survey.title} (wave {wave.wave})"  # a title may end in "?": "know it?: wave 1" read badly
    comparison = report.comparison
    return templates.render(
        "report.html", title=title, wave=wave,
        compared=f", compared with wave {comparison.before.wave}" if comparison else "",
        audience=upper_first(people(wave.survey.audience)), made_on=long_date(report.made_on),
        summary=three_questions(report), method=method(report),
        questions=[_question(result, wave) for result in wave.questions],
        comparison=comparison, changes=_changes(comparison) if comparison else [],
        we_did=_we_did(report.we_did) if report.we_did is not None and report.we_did.themes else None,
        no_one=Cell(0), Kind=Kind, EXACT_HIDDEN=EXACT_HIDDEN, shown=shown, percent=percent, percentage=percentage,
        label=label, upper_first=upper_first, mean_text=mean_text, floor_percent=floor_percent,
        thousands=lambda n: f"{n:,}")


def _describe(question: Question, survey: Survey) -> str:
    """"Scale from 1 (Not at all) to 5 (Very); optional; asked only of people who answered “Yes” to “...”."."""
    kind = {Kind.SINGLE: "Single choice", Kind.MULTI: "Multiple choice: people could choose several",
            Kind.YESNO: "Yes or no", Kind.SCALE: "Scale", Kind.NUMBER: "A number", Kind.TEXT: "Written answer",
            Kind.KNOWLEDGE: "Knowledge check"}[question.kind]
    if question.kind is Kind.SCALE:
        kind += (f" from {int(question.low or 0)} ({question.low_label or 'lowest'}) to {int(question.high or 0)} "
                 f"({question.high_label or 'highest'})")
    parts = [kind]
    if question.kind is Kind.KNOWLEDGE:
        parts.append(f"the right answer is “{question.correct}”")
    if question.optional:
        parts.append("optional")
    if question.ask_if is not None:
        answers = " or ".join(f"“{a}”" for a in question.ask_if.answers)
        earlier = question.ask_if.question
        wording = survey.question(earlier).text if earlier in {q.id for q in survey.questions} else earlier
        parts.append(f"asked only of people who answered {answers} to “{wording}”")
    if question.breakdown:
        parts.append(f"used to break the results down by {label(question.breakdown)}")
    return "; ".join(parts) + "."


def _base_line(result: QuestionResult, people_word: str) -> str:
    if result.percent_of == "answered":
        base = f"Base: {result.answered:,} who answered, of {shown(result.total)} who completed the survey."
    elif result.percent_of == "all":
        base = (f"Base: all {shown(result.total)} who completed the survey (how many answered can't be shown "
                "safely).")
    else:
        base = (f"{upper_first(shown(result.total))} {people_word} completed the survey; too few answered for "
                "percentages.")
    if result.question.kind is Kind.MULTI and result.percent_of:
        base += " People could choose more than one option, so the percentages can add up to more than 100%."
    return base


def _question(result: QuestionResult, wave: WaveResult) -> dict[str, object]:
    """What the template needs beyond the figures: the description, the base line and the chart."""
    question = result.question
    chart = ""
    counted_only = question.kind in (Kind.NUMBER, Kind.TEXT)
    if result.percent_of and not counted_only and not result.withheld:
        options = [r for r in result.rows if not (r.label in UNANSWERED and result.percent_of == "answered")]
        items = [Bar(r.label, r.percent if not r.cell.suppressed else None,
                     f"{percent(r.percent)} ({shown(r.cell)})" if r.percent is not None else shown(r.cell))
                 for r in options]
        whose = "those who answered" if result.percent_of == "answered" else "everyone"
        chart = bars(items, f"Share of {whose}: {question.text}")
    return {"result": result, "describe": _describe(question, wave.survey), "counted_only": counted_only,
            "base": _base_line(result, people(wave.survey.audience)), "chart": chart,
            "groups": [_by_group(group) for group in result.groups]}


def _by_group(group: GroupTable) -> dict[str, object]:
    """A table by group, each cell as its text and whether it is hidden. These tables hold four in five of the
    report's cells, so their text is made here in one pass rather than by two calls from the template per cell,
    which took about a quarter of the time the report takes to draw."""
    rows = [{"group": row.group, "mean": mean_text(row.mean) if row.mean is not None else "",
             "cells": [*map(_cell, row.cells, row.percents), _cell(row.total)]} for row in group.rows]
    return {"table": group, "rows": rows, "totals": [_cell(cell) for cell in group.column_totals]}


def _cell(cell: Cell, share: float | None = None) -> tuple[str, bool]:
    """A count as shown in a table by group, with its percentage of the group in brackets where there is one."""
    return (shown(cell) if share is None else f"{shown(cell)} ({percent(share)})"), cell.suppressed


def _changes(comparison: Comparison) -> list[dict[str, object]]:
    """Each change between waves with its chart and its table's lines as text."""
    before, after = comparison.before, comparison.after
    legend = (f"wave {before.wave}", f"wave {after.wave}")
    out: list[dict[str, object]] = []
    for change in comparison.changes:
        items = [Bar(line.label, line.after, percent(line.after) if line.after is not None else "not shown",
                     line.before, percent(line.before) if line.before is not None else "not shown")
                 for line in change.lines if line.label != AVERAGE]
        title = f"Wave {before.wave} and wave {after.wave}: {change.question.text}"
        chart = bars(items, title, legend) if items else ""
        lines = []
        for line in change.lines:
            show = mean_text if line.label == AVERAGE else percent
            lines.append({"label": line.label,
                          "before": show(line.before) if line.before is not None else "not shown",
                          "after": show(line.after) if line.after is not None else "not shown",
                          "test": f"{line.result.name}, {p_text(line.result)}" if line.result else ""})
        out.append({"change": change, "chart": chart, "lines": lines})
    return out


def _we_did(board: Board) -> dict[str, object] | None:
    """"You said, we did": each reply sent to the round, its status and young people's reactions, suppressed."""
    k = board.thresholds.group
    rows = [{"theme": theme.name, "status": reply.status.replace("-", " "), "sent": yousaid.shown(reply.sent, k),
             "counts": list(yousaid.reactions_shown(reply.reactions, k).values())}
            for theme in board.themes for reply in theme.replies if reply.approved]
    if not rows:
        return None
    return {"k": k, "rows": rows, "headings": list(msg.YOUSAID_REACTIONS.values())}
