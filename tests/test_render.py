"""The printable questionnaire: routing in plain words, HTML (escaped, self-contained), Markdown."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from surveykit.errors import ExpressionError, ReportError
from surveykit.questionnaire import (
    describe_condition,
    questionnaire_from_text,
    render_html,
    render_markdown,
    write_document,
)


@pytest.fixture(scope="module")
def q(all_types_questionnaire):
    """``valid_all_types.yaml``, loaded once for the session (tests/conftest.py)."""
    return all_types_questionnaire


@pytest.fixture(scope="module")
def page(q):
    return render_html(q)


def visible_text(page: str) -> str:
    """The page's text as a reader sees it (tags dropped, entities decoded, spaces collapsed)."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", body)))


# -- routing in plain words -----------------------------------------------------------------
@pytest.mark.parametrize("text, words", [
    ("cust_type == 1 and age >= 25", 'Customer type is "Individual" and Age is at least 25'),
    ("cust_type != 2", 'Customer type is not "Organisation"'),
    ("age < 25", "Age is less than 25"),
    ("age <= 24", "Age is at most 24"),
    ("age > 40", "Age is more than 40"),
    ("25 < age", "Age is more than 25"),
    ("18 <= age <= 24", "Age is between 18 and 24"),
    ("0 <= nps < 7", 'Recommend is at least 0 ("0 - Not at all likely") and Recommend is less '
                     "than 7"),
    ("sat_noise >= 4", 'Noise annoys me is at least 4 ("Satisfied")'),
    ("overall == 98", "Overall satisfaction is \"Don't know\""),
    ("age == 'x'", 'Age is "x"'),
    ("age >= -5", "Age is at least -5"),
    ("overall > nps", "Overall satisfaction is more than Recommend"),
    ("cust_type in [1]", 'Customer type is "Individual"'),
    ("cust_type in [1, 2]", 'Customer type is either "Individual" or "Organisation"'),
    ("overall in [1, 2, 3]",
     'Overall satisfaction is one of "Very dissatisfied", "Dissatisfied", "Neutral"'),
    ("nps in [9, 10]", 'Recommend is either 9 or "10 - Extremely likely"'),
    ("cust_type not in [2]", 'Customer type is not "Organisation"'),
    ("cust_type not in [1, 2]", 'Customer type is neither "Individual" nor "Organisation"'),
    ("nps not in [1, 2, 3]", "Recommend is none of 1, 2, 3"),
    ("answered(age)", "Age is answered"),
    ("not answered(age)", "Age is not answered"),
    ("answered(channel)", "Channels is answered"),
    ("selected(channel, 3)", 'Channels includes "Elsewhere"'),
    ("not selected(channel, 9)", 'Channels does not include "None of these"'),
    ("not (cust_type == 1)", 'Customer type is not "Individual"'),
    ("not cust_type in [1, 2]", 'Customer type is neither "Individual" nor "Organisation"'),
    ("not not (cust_type == 1)", 'Customer type is "Individual"'),
    ("not (age >= 25)", "not (Age is at least 25)"),
    ("cust_type == 1 and (age < 25 or nps >= 9)",
     'Customer type is "Individual" and (Age is less than 25 or Recommend is at least 9)'),
    ("cust_type == 1 and age < 25 or nps >= 9",
     '(Customer type is "Individual" and Age is less than 25) or Recommend is at least 9'),
    ("answered(channel) and not selected(channel, 9)",
     'Channels is answered and Channels does not include "None of these"'),
    ("ranking_1 == 1", 'Priorities: Price is "Rank 1"'),
    ("sat_speed >= 4", 'Speed is at least 4 ("Satisfied")'),
    ("unknown_q == 3", "unknown_q is 3"),  # no questionnaire label: the id itself
])
def test_routing_in_plain_words(q, text, words):
    assert describe_condition(q, text) == words


def test_describe_condition_refuses_unsafe_text(q):
    with pytest.raises(ExpressionError, match="not allowed"):
        describe_condition(q, "__import__('os').system('ls') == 0")


# -- HTML -------------------------------------------------------------------------------------
def test_html_is_self_contained_and_printable(page):
    lower = page.lower()
    assert lower.startswith("<!doctype html>")
    for forbidden in ("<script", "<link", "http://", "https://", "src=", "@import", "<iframe",
                      "javascript:", "onload"):
        assert forbidden not in lower, forbidden
    assert "@media print" in page and "@page" in page and "break-inside: avoid" in page
    assert '<meta charset="utf-8">' in page and '<html lang="en">' in page


def test_html_header_blocks_and_numbering(page):
    text = visible_text(page)
    assert "All question types" in text
    assert "Questionnaire fixture_all_types version 2.1 language en 10 questions 23 data " \
        "columns" in text
    positions = [text.index(h) for h in ("Profile", "Purchase", "Satisfaction")]
    assert positions == sorted(positions)
    numbers = [int(n) for n in re.findall(r'<span class="qnum">Q(\d+)\.</span>', page)]
    assert numbers == list(range(1, 11))
    ids = re.findall(r'<div class="question" id="q-(\w+)">', page)
    assert ids == ["cust_type", "age", "channel", "main_channel", "product", "overall", "nps",
                   "ranking", "comment", "email"]


def question_html(page: str, qid: str) -> str:
    start = page.index(f'<div class="question" id="q-{qid}">')
    end = page.find('<div class="question"', start + 10)
    return page[start:end if end > 0 else None]


def test_html_question_content(page):
    age = visible_text(question_html(page, "age"))
    assert "Q2. age Number" in age and "How old are you?" in age
    assert "Asked if: Customer type is \"Individual\" cust_type == 1" in age
    assert "Answer: a whole number in years, 18 to 99." in age

    channel = visible_text(question_html(page, "channel"))
    assert "Multiple choice" in channel and "Select all that apply." in channel
    assert "3 Elsewhere specify: channel_3_text" in channel
    assert "9 None of these exclusive" in channel

    main = visible_text(question_html(page, "main_channel"))
    assert ('Asked if: Channels is answered and Channels does not include "None of these"'
            in main)

    grid = question_html(page, "product")
    row = re.search(r"<tr><td><code>sat_noise</code></td>.*?</tr>", grid, re.S).group(0)
    assert "reverse" in row and 'class="badge rev"' in row
    assert "reverse" not in re.search(r"<tr><td><code>sat_speed</code></td>.*?</tr>", grid,
                                      re.S).group(0)
    grid_text = visible_text(grid)
    assert "Scale: Satisfaction (sat5), higher is better." in grid_text
    assert "Very dissatisfied" in grid_text
    assert "Don't know missing don't know" in grid_text
    assert "Refused missing refused" in grid_text

    nps = visible_text(question_html(page, "nps"))
    assert "Likelihood to recommend (NPS, 0-10)" in nps
    assert "0 - Not at all likely" in nps and "10 - Extremely likely" in nps
    assert "Don't know missing don't know" in nps

    assert "Rank the top 2 (1 = first)." in visible_text(question_html(page, "ranking"))
    comment = visible_text(question_html(page, "comment"))
    assert "Answer: free text." in comment and "Optional." in comment
    assert ('Asked if: Overall satisfaction is at most 2 ("Dissatisfied") or Recommend is one '
            'of "0 - Not at all likely", 1, 2, 3, 4, 5, 6') in comment

    email = question_html(page, "email")
    assert 'class="badge pii"' in email
    assert 'class="badge pii"' not in question_html(page, "comment")


def test_html_missing_codes_are_marked_in_option_tables(page):
    single = question_html(page, "cust_type")
    assert 'class="missing"' not in single
    scale_table = question_html(page, "overall")
    assert '<th class="missing">98</th>' in scale_table
    assert '<th class="missing">99</th>' in scale_table


def codebook_rows(page: str) -> dict[str, str]:
    table = page[page.index('<table class="codebook">'):]
    table = table[:table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr><td><code>.*?</tr>", table, re.S):
        name = re.match(r"<tr><td><code>(\w+)</code>", row).group(1)
        rows[name] = visible_text(row).strip()
    return rows


def test_html_codebook_has_a_row_per_column(q, page):
    rows = codebook_rows(page)
    assert list(rows) == list(q.variables())
    assert rows["channel_1"] == ("channel_1 of channel multiple-choice option Channels: Online "
                                 "shop 0 = Not selected 1 = Selected")
    assert rows["channel_9"].startswith("channel_9 of channel multiple-choice option Channels: "
                                        "None of these 0 = Not selected 1 = Selected")
    assert rows["channel_3_text"] == ("channel_3_text of channel other (specify) text Channels: "
                                      "Elsewhere (specify)")
    assert rows["overall"] == ("overall rating Overall satisfaction 1 = Very dissatisfied "
                               "2 = Dissatisfied 3 = Neutral 4 = Satisfied 5 = Very satisfied "
                               "98 = Don't know (don't know) 99 = Refused (refused)")
    assert rows["age"] == "age number Age 18\u201399"
    assert rows["sat_noise"].endswith("R")
    assert rows["email"] == "email open text E-mail PII"
    assert rows["age_band"] == "age_band derived Age band 1 = 18-24 2 = 25-40 3 = 41+"


def test_html_derived_constructs_and_roles(page):
    text = visible_text(page[page.index('<section id="derived">'):])
    assert "Bands of Age (age); the first band that holds wins." in text
    assert "1 18-24 18 to 24 years" in text and "3 41+ 41 years or more" in text
    assert ('1 Young individuals Customer type is "Individual" and Age is at most 24' in text)
    assert '3 Organisations Customer type is "Organisation"' in text
    assert ("product_quality Product quality sat_speed Speed sat_screen Screen sat_noise Noise "
            "annoys me R 2 of 3 (default: half)") in text
    assert "loyalty Loyalty overall Overall satisfaction nps Recommend 2 of 2" in text
    assert "Respondent id resp_id" in text
    assert "Customer id (pseudonymous CRM key) crm_id" in text
    assert "Design weight design_weight" in text
    assert "Weighting variables cust_type (Customer type), age_band (Age band)" in text
    assert "Segment variables segment (Segment)" in text
    assert "Personal data (PII; never shown in a report) email" in text
    assert "Open text channel_3_text, comment, email" in text
    assert "Interview duration" not in text  # not declared


HOSTILE = """id: hostile
title: "<script>alert('title')</script> & co"
description: <img src=x onerror=alert(1)>
questions:
  - id: q1
    block: "<b>Block</b>"
    type: single
    label: "Type | kind <i>"
    text: "<script>alert('q')</script> Which one?"
    instruction: "</p><script>x</script>"
    options:
      1: "<b>bold</b> & \\"quotes\\" | pipe"
      2: "*star* _under_ [link](javascript:alert(1))"
  - id: q2
    type: open
    text: Why?
    ask_if: "q1 == 1"
"""


def test_every_text_is_html_escaped():
    q = questionnaire_from_text(HOSTILE)
    page = render_html(q)
    body = page[page.index("</style>"):]
    assert "<script" not in page.lower() and "<img" not in body and "<b>" not in body
    assert "<i>" not in body
    assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt; Which one?" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &#34;quotes&#34; | pipe" in page
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &amp; co" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # the routing words carry the labels, escaped too
    assert ("Type | kind &lt;i&gt; is &#34;&lt;b&gt;bold&lt;/b&gt; &amp; &#34;quotes&#34; | "
            "pipe&#34;") in page


def test_markdown_escapes_text():
    q = questionnaire_from_text(HOSTILE)
    md = render_markdown(q)
    assert "<script" not in md.lower() and "<img" not in md and "<b>" not in md
    assert "&lt;script&gt;alert('q')&lt;/script&gt; Which one?" in md
    # a pipe inside a table cell must not split the cell; Markdown syntax is neutralised
    assert ('| 1 | &lt;b&gt;bold&lt;/b&gt; &amp; "quotes" \\| pipe |  |') in md
    assert "\\*star\\* \\_under\\_ \\[link\\](javascript:alert(1))" in md
    option_rows = [line for line in md.splitlines() if line.startswith("| 1 |")]
    assert option_rows and all(len(re.findall(r"(?<!\\)\|", row)) == 4 for row in option_rows)
    codebook_row = next(line for line in md.splitlines() if line.startswith("| `q1` |"))
    assert len(re.findall(r"(?<!\\)\|", codebook_row)) == 9 + 1


# -- Markdown ---------------------------------------------------------------------------------
def test_markdown_document(q):
    md = render_markdown(q)
    lines = md.splitlines()
    assert lines[0] == "# All question types"
    assert lines[2] == ("Questionnaire `fixture_all_types` · version 2.1 · language en · "
                        "10 questions · 23 data columns")
    heads = [line for line in lines if line.startswith("## ")]
    assert heads == ["## Questionnaire", "## Codebook", "## Derived variables",
                     "## Constructs", "## Roles"]
    assert [line for line in lines if line.startswith("### ")][:3] == [
        "### Profile", "### Purchase", "### Satisfaction"]
    assert "**Q2.** `age` · Number" in lines
    assert '> Asked if: Customer type is "Individual"  ' in lines
    assert "> (`cust_type == 1`)" in lines
    assert "- Answer: a whole number in years, 18 to 99." in lines
    assert "| 9 | None of these | exclusive |" in lines
    assert "| 98 | Don't know | missing: don't know |" in lines
    assert "| `sat_noise` | Noise annoys me | R (reverse) |" in lines
    assert "**Q10.** `email` · Open text · **PII: never shown in a report**" in lines
    assert ("| `channel_9` | `channel` | multiple-choice option | Channels: None of these | "
            "0 = Not selected; 1 = Selected |  |  |  |  |") in lines
    assert ("| `overall` | `overall` | rating | Overall satisfaction | 1 = Very dissatisfied; "
            "2 = Dissatisfied; 3 = Neutral; 4 = Satisfied; 5 = Very satisfied | "
            "98 = Don't know (don't know); 99 = Refused (refused) |  |  |  |") in lines
    assert "| `email` | `email` | open text | E-mail |  |  |  |  | PII |" in lines
    assert ('| 1 | Young individuals | Customer type is "Individual" and Age is at most 24 |'
            in lines)
    assert "| 3 | 41+ | 41 years or more |" in lines
    assert any(line.startswith("| `product_quality` Product quality |") and
               line.endswith("| sat\\_noise | 2 of 3 |") for line in lines)
    assert "| Weighting variables | cust\\_type (Customer type), age\\_band (Age band) |" in lines


# -- files -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, render", [("html", render_html), ("markdown", render_markdown),
                                         ("md", render_markdown), ("HTML", render_html)])
def test_write_document(tmp_path, q, fmt, render):
    out = tmp_path / "nested" / "dir" / "doc.out"
    written = write_document(q, out, format=fmt)
    assert written == out
    assert out.read_text(encoding="utf-8") == render(q)
    assert [p.name for p in out.parent.iterdir()] == ["doc.out"]  # no temporary left behind


def test_write_document_replaces_an_existing_file(tmp_path, q):
    out = tmp_path / "doc.html"
    out.write_text("old")
    write_document(q, out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_write_document_refuses_bad_parameters(tmp_path, q):
    with pytest.raises(ReportError, match="format 'pdf' is not supported; use 'html' or "
                                          "'markdown'"):
        write_document(q, tmp_path / "x.pdf", format="pdf")
    with pytest.raises(ReportError, match="is a folder; give a file name such as"):
        write_document(q, tmp_path)
    with pytest.raises(ReportError, match="expected a Questionnaire"):
        render_html({"id": "x"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["smart_lock_questionnaire", "pc_questionnaire"])
def test_bundled_questionnaires_render(request, name):
    q = request.getfixturevalue(name)
    page, md = render_html(q), render_markdown(q)
    for question in q.questions:
        assert f'id="q-{question.id}"' in page
        assert f"`{question.id}`" in md
    assert list(codebook_rows(page)) == list(q.variables())
    assert ">None<" not in page and "StrictUndefined" not in page
    assert page.count("Asked if:") == sum(1 for x in q.questions if x.ask_if)


def test_smart_lock_document_words(smart_lock_questionnaire):
    q = smart_lock_questionnaire
    text = visible_text(render_html(q))
    assert ('Asked if: Installed by is one of "A technician from the brand", "The dealer\'s or '
            'store\'s installer", "The developer or renovation company"') in text
    assert 'Asked if: Contacted service is "Yes" service_contact == 2' in text
    assert ('1 High-end upgraders Age is between 30 and 50 and Household income is either '
            '"20,000 - 29,999 yuan" or "30,000 yuan or more" and City tier is one of "Tier 1", '
            '"New tier 1", "Tier 2" and Homes owned is at least 2') in text
    assert ("1 As fast as expected or faster Service response time is at most Expected "
            "response time") in text
    assert "1 Within 24 hours up to 24 hours" in text
