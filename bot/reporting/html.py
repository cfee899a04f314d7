"""The report as one self-contained HTML file: inline CSS and SVG, no scripts, fonts, images or links to fetch.

It reads top to bottom the way a scrutineer works: the three questions first, then who responded, each question's
answers (charts, Wood-style tables with the base, tables by group), the change between waves, comments, and the
method. It prints to PDF cleanly (print CSS: A4, no table or chart split across pages). Everything shown comes from
bot.reporting.figures, already suppressed; every piece of text is escaped. The file has no time of day in it and
the same report gives the same bytes.
"""

from __future__ import annotations

from html import escape

from bot import yousaid
from bot.engine import messages as msg
from bot.engine.survey import Kind, Question, Survey
from bot.notices import long_date
from bot.reporting.charts import Bar, bars
from bot.reporting.compare import AVERAGE, Comparison, mean_text, p_text, percent
from bot.reporting.disclosure import Cell, percentage
from bot.reporting.figures import GroupTable, QuestionResult, WaveResult, people
from bot.reporting.method import method
from bot.reporting.report import Report
from bot.reporting.summary import (
    EXACT_HIDDEN,
    Part,
    floor_percent,
    label,
    shown,
    three_questions,
    upper_first,
)
from bot.reporting.tally import UNANSWERED
from bot.yousaid import Board

STYLE = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1f2328;
       margin: 0; background: #fff; }
main { max-width: 860px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.7em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #1d5f8a; }
h3 { font-size: 1.05em; margin: 22px 0 6px; }
.sub, .meta, .base, .note { color: #57606a; }
.meta, .base, .note { font-size: 0.9em; margin: 2px 0; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; }
td.n { white-space: nowrap; }
th { overflow-wrap: break-word; }
table.by-group { max-width: 100%; font-size: 0.85em; }
table.by-group td.n { white-space: normal; }
.wide { max-width: 100%; overflow-x: auto; }
thead th { background: #f3f6f9; }
.suppressed, td.hidden { color: #6e7781; font-style: italic; }
.chart { display: block; max-width: 100%; height: auto; margin: 6px 0; }
.chart .label, .chart .value { font-size: 12px; fill: #1f2328; }
.chart .tick { font-size: 11px; fill: #57606a; }
.chart .suppressed { font-size: 12px; fill: #6e7781; font-style: italic; }
.summary { background: #f3f6f9; padding: 4px 16px 12px; border-radius: 6px; }
.significant { font-weight: 600; }
ol.comments li { margin: 4px 0; }
article { margin-bottom: 18px; }
@page { size: A4; margin: 16mm 14mm; }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid-page; }
  h3 { break-after: avoid-page; }
  table, svg, .summary { break-inside: avoid; }
  .wide { overflow: visible; }
  table.by-group { font-size: 8.5pt; }
  table.by-group th, table.by-group td { padding: 2px 4px; }
  article { break-inside: avoid-page; }
}
"""


def render(report: Report) -> str:
    wave = report.current
    title = f"{wave.survey.title} (wave {wave.wave})"  # a title may end in "?": "know it?: wave 1" read badly
    compared = f", compared with wave {report.comparison.before.wave}" if report.comparison else ""
    body = [
        "<header>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">Survey report for <b>{escape(wave.survey_id)}</b>, wave {wave.wave}{compared}. '
        f"{escape(upper_first(people(wave.survey.audience)))}. Made on {escape(long_date(report.made_on))}. "
        f"Groups smaller than {wave.thresholds.group} are never shown; “Method” at the end says how the figures "
        "were made and what was suppressed.</p>",
        "</header>",
        '<section id="summary"><h2>Summary: the three questions</h2><div class="summary">',
        *[_part(part, 3) for part in three_questions(report)],
        "</div></section>",
        _responses(wave),
        '<section id="questions"><h2>Answers, question by question</h2>',
        *[_question(number, result, wave) for number, result in enumerate(wave.questions, 1)],
        "</section>",
    ]
    if report.comparison is not None:
        body.append(_comparison(report.comparison))
    body.append(_comments(wave))
    if report.we_did is not None and report.we_did.themes:
        body.append(_we_did(report.we_did))
    body += ['<section id="method"><h2>Method</h2>', *[_part(part, 3) for part in method(report)], "</section>"]
    return ("<!DOCTYPE html>\n"
            '<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def _part(part: Part, level: int) -> str:
    out = [f"<h{level}>{escape(part.heading)}</h{level}>"]
    out += [f"<p>{escape(paragraph)}</p>" for paragraph in part.paragraphs]
    if part.bullets:
        out.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in part.bullets) + "</ul>")
    return "\n".join(out)


def _count(cell: Cell) -> str:
    """A count's cell; class "count" marks every published count (the tests check none is from 1 to k-1)."""
    css = ' class="n count hidden"' if cell.suppressed else ' class="n count"'
    return f"<td{css}>{escape(shown(cell))}</td>"


def _pct(value: float | None) -> str:
    return f'<td class="n">{percent(value)}</td>' if value is not None else '<td class="n"></td>'


def _responses(wave: WaveResult) -> str:
    responses = wave.responses
    rows = [("Completed", responses.completed), ("Started but not completed", responses.not_completed),
            ("Started in all", responses.started)]
    out = ['<section id="responses"><h2>Who responded</h2>',
           '<table><thead><tr><th>Responses</th><th class="n">Number</th></tr></thead><tbody>',
           *[f"<tr><td>{escape(name)}</td>{_count(cell)}</tr>" for name, cell in rows], "</tbody></table>"]
    if responses.invited is None:
        out.append('<p class="note">Invited: not recorded, so there is no response rate. The figures below are of '
                   "the people who responded.</p>")
    else:
        rate = percent(responses.rate) if responses.rate is not None else "not shown (too few to give safely)"
        out.append(f"<p>Invited: {escape(shown(responses.invited))}. Of them, responded: "
                   f"{escape(shown(responses.responded or Cell(0)))}. Response rate: {escape(rate)}.</p>")
    completed = responses.completed.count
    for name, counts in responses.groups.items():
        out.append(f"<h3>Completed responses by {escape(label(name))}</h3>")
        if counts is None:
            out.append('<p class="note">Withheld: too few completed responses to show this safely.</p>')
            continue
        out.append(f'<table><thead><tr><th>{escape(upper_first(label(name)))}</th><th class="n">Completed</th>'
                   '<th class="n">Share of responses</th></tr></thead><tbody>')
        for group, cell in counts.cells.items():
            out.append(f"<tr><td>{escape(group)}</td>{_count(cell)}{_pct(percentage(cell.count, completed))}</tr>")
        out.append(f"<tr><th>All</th>{_count(counts.total)}<td></td></tr></tbody></table>")
        if responses.invited is not None:  # invitations go to contacts, who have tags but no agency or role band
            out.append(f'<p class="note">Invitations are counted for the round as a whole, not by '
                       f"{escape(label(name))}, so there is no response rate by {escape(label(name))}.</p>")
    out.append("</section>")
    return "\n".join(out)


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
    return f'<p class="base">{escape(base)}</p>'


def _question(number: int, result: QuestionResult, wave: WaveResult) -> str:
    question = result.question
    out = [f'<article class="question" id="q-{escape(question.id)}">',
           f"<h3>{number}. {escape(question.text)}</h3>",
           f'<p class="meta">{escape(_describe(question, wave.survey))}</p>']
    if result.withheld:
        out += [f'<p class="note">{escape(upper_first(result.withheld))}.</p>', "</article>"]
        return "\n".join(out)
    if question.kind in (Kind.NUMBER, Kind.TEXT):
        out.append('<table><thead><tr><th></th><th class="n">Number</th></tr></thead><tbody>')
        out += [f"<tr><td>{escape(upper_first(row.label))}</td>{_count(row.cell)}</tr>" for row in result.rows]
        out.append(f"<tr><th>All</th>{_count(result.total)}</tr></tbody></table>")
        if question.kind is Kind.NUMBER:
            if result.mean is not None and result.median is not None:
                out.append(f"<p>Average (mean): {mean_text(result.mean)}. Middle value (median): "
                           f"{mean_text(result.median)}.</p>")
            elif result.mean_note:
                out.append(f'<p class="note">{escape(upper_first(result.mean_note))}.</p>')
        else:
            out.append('<p class="note">The written answers are under “Comments”, where enough people wrote one.</p>')
        out.append("</article>")
        return "\n".join(out)
    options = [r for r in result.rows if not (r.label in UNANSWERED and result.percent_of == "answered")]
    if result.percent_of:
        items = [Bar(r.label, r.percent if not r.cell.suppressed else None,
                     f"{percent(r.percent)} ({shown(r.cell)})" if r.percent is not None else shown(r.cell))
                 for r in options]
        whose = "those who answered" if result.percent_of == "answered" else "everyone"
        out.append(bars(items, f"Share of {whose}: {question.text}"))
    out.append('<table><thead><tr><th>Answer</th><th class="n">Number</th><th class="n">Share</th></tr></thead>'
               "<tbody>")
    for row in result.rows:
        mark = " ✓" if question.kind is Kind.KNOWLEDGE and row.label == question.correct else ""
        out.append(f"<tr><td>{escape(row.label)}{mark}</td>{_count(row.cell)}{_pct(row.percent)}</tr>")
    out.append("</tbody></table>")
    out.append(_base_line(result, people(wave.survey.audience)))
    if question.kind is Kind.KNOWLEDGE and result.correct is not None:
        if result.correct.percent is not None:
            out.append(f"<p><b>{percent(result.correct.percent)} chose the right answer.</b></p>")
        elif result.at_least is not None:
            out.append(f"<p><b>At least {floor_percent(result.at_least)} chose the right answer</b> "
                       f"({escape(EXACT_HIDDEN)}).</p>")
        else:
            out.append('<p class="note">Too few answers to give the percentage correct safely.</p>')
    if question.kind is Kind.SCALE:
        if result.mean is not None:
            out.append(f"<p><b>Average: {mean_text(result.mean)}</b> (from {result.answered:,} answers).</p>")
        elif result.mean_note:
            out.append(f'<p class="note">{escape(upper_first(result.mean_note))}.</p>')
    out += [_group_table(group, question) for group in result.groups]
    out.append("</article>")
    return "\n".join(out)


def _group_table(group: GroupTable, question: Question) -> str:
    title = f"By {label(group.breakdown)}"
    if group.withheld:
        return f'<p class="note"><b>{escape(title)}:</b> {escape(group.withheld)}.</p>'
    head = "".join(f'<th class="n">{escape(c)}</th>' for c in group.columns)
    extra = '<th class="n">Average</th>' if question.kind is Kind.SCALE else ""
    out = [f"<h4>{escape(title)}</h4>",
           f'<div class="wide" role="region" tabindex="0" aria-label="{escape(title)}">'  # scrolls only if it must
           f'<table class="by-group"><thead><tr><th>{escape(upper_first(label(group.breakdown)))}</th>{head}'
           f'<th class="n">All</th>{extra}</tr></thead><tbody>']
    for row in group.rows:
        cells = []
        for cell, share in zip(row.cells, row.percents, strict=True):
            text = shown(cell) + (f" ({percent(share)})" if share is not None else "")
            css = "n count hidden" if cell.suppressed else "n count"
            cells.append(f'<td class="{css}">{escape(text)}</td>')
        average = (f'<td class="n">{mean_text(row.mean)}</td>' if row.mean is not None else '<td class="n"></td>'
                   ) if question.kind is Kind.SCALE else ""
        out.append(f"<tr><td>{escape(row.group)}</td>{''.join(cells)}{_count(row.total)}{average}</tr>")
    totals = "".join(_count(c) for c in group.column_totals)
    grand = _count(group.grand_total) if group.grand_total else "<td></td>"
    out.append(f"<tr><th>All</th>{totals}{grand}{'<td></td>' if extra else ''}</tr></tbody></table></div>")
    out.append('<p class="base">Percentages in brackets are of the group’s members who answered, where at least '
               "10 did and the count can be shown.</p>")
    return "\n".join(out)


def _comparison(comparison: Comparison) -> str:
    before, after = comparison.before, comparison.after
    legend = (f"wave {before.wave}", f"wave {after.wave}")
    out = ['<section id="change"><h2>Change between waves</h2>',
           f"<p>Wave {before.wave} ({escape(shown(before.responses.completed))} completed responses) compared with "
           f"wave {after.wave} ({escape(shown(after.responses.completed))}). Significant means p &lt; 0.05: see "
           "“How the waves were compared” in the method.</p>"]
    for change in comparison.changes:
        css = ' class="significant"' if change.significant else ""
        out.append(f'<h3>{escape(change.question.text)}</h3><p{css}>{escape(change.sentence)}</p>')
        items = [Bar(line.label, line.after, percent(line.after) if line.after is not None else "not shown",
                     line.before, percent(line.before) if line.before is not None else "not shown")
                 for line in change.lines if line.label != AVERAGE]
        if items:
            out.append(bars(items, f"Wave {before.wave} and wave {after.wave}: {change.question.text}", legend))
        out.append(f'<table><thead><tr><th></th><th class="n">Wave {before.wave}</th><th class="n">Wave {after.wave}'
                   '</th><th>Test</th></tr></thead><tbody>')
        for line in change.lines:
            show = mean_text if line.label == AVERAGE else percent
            first = show(line.before) if line.before is not None else "not shown"
            second = show(line.after) if line.after is not None else "not shown"
            test = f"{line.result.name}, {p_text(line.result)}" if line.result else ""
            out.append(f'<tr><td>{escape(line.label)}</td><td class="n">{escape(first)}</td>'
                       f'<td class="n">{escape(second)}</td><td>{escape(test)}</td></tr>')
        out.append("</tbody></table>")
    if comparison.not_compared:
        out.append("<h3>Not compared</h3><ul>")
        out += [f"<li>“{escape(item.question.text)}”: {escape(item.reason)}.</li>" for item in comparison.not_compared]
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _comments(wave: WaveResult) -> str:
    out = ['<section id="comments"><h2>Comments</h2>',
           f'<p class="note">Written answers appear only where at least {wave.thresholds.text} people wrote one. '
           "They were scrubbed of identifiers before they were stored, are never shown by group, and are in a "
           "random order.</p>"]
    for comments in wave.comments:
        heading = comments.question.text + (" (other answers)" if comments.column != comments.question.id else "")
        out.append(f"<h3>{escape(heading)}</h3>")
        if comments.withheld:
            out.append(f'<p class="note">{escape(upper_first(comments.withheld))}.</p>')
            continue
        assert comments.total is not None
        if comments.total > len(comments.shown):
            out.append(f'<p class="note">A random selection of {len(comments.shown):,} of the {comments.total:,} '
                       "comments.</p>")
        out.append('<ol class="comments">' + "".join(f"<li>{escape(text)}</li>" for text in comments.shown)
                   + "</ol>")
    out.append("</section>")
    return "\n".join(out)


def _we_did(board: Board) -> str:
    """"You said, we did": each reply sent to the round, its status and young people's reactions, suppressed."""
    k = board.thresholds.group
    rows = []
    for theme in board.themes:
        for reply in theme.replies:
            if not reply.approved:
                continue
            counts = "".join(f"<td>{escape(n)}</td>" for n in yousaid.reactions_shown(reply.reactions, k).values())
            rows.append(f"<tr><th scope=\"row\">{escape(theme.name)}</th><td>{escape(reply.status.replace('-', ' '))}"
                        f"</td><td>{escape(yousaid.shown(reply.sent, k))}</td>{counts}</tr>")
    if not rows:
        return ""
    heads = "".join(f"<th scope=\"col\">{escape(label)}</th>" for label in msg.YOUSAID_REACTIONS.values())
    return ('<section id="we-did"><h2>You said, we did: reactions</h2>'
            f"<p>The partnership's replies to this round, and how young people reacted. Each person counts once per "
            f"reply. Numbers below {k} are shown as “fewer than {k}”.</p>"
            f'<table><thead><tr><th scope="col">Theme</th><th scope="col">Status</th><th scope="col">Sent to</th>'
            f"{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>")
