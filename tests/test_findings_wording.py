"""Segment labels carry no grammatical number ("Free", "North", "18-24" are plans, regions,
age bands): the findings page and the index name a segment by one rule
(:class:`surveykit.reporting.narrative.SegmentName`), the label itself when it is a plural
noun phrase and "respondents in the ... segment" otherwise, so every sentence reads for
any label. The sentences are checked whole, numbers included, on the demo's Students
segment relabelled."""

from __future__ import annotations

import pytest

from surveykit.reporting import SegmentFindings
from surveykit.reporting.narrative import SegmentName
from surveykit.reporting.overview import index_summary
from surveykit.reporting.shared import SharedResults

#: label -> (subject opening a sentence, where results were found, people mid-sentence)
CASES = {
    "Free": ("Respondents in the Free segment", "in the Free segment",
             "respondents in the Free segment"),
    "Home users": ("Home users", "among Home users", "Home users"),
    "Business": ("Respondents in the Business segment", "in the Business segment",
                 "respondents in the Business segment"),
    "18-24": ("Respondents in the 18-24 segment", "in the 18-24 segment",
              "respondents in the 18-24 segment"),
    "Enterprise customers": ("Enterprise customers", "among Enterprise customers",
                             "Enterprise customers"),
    "North": ("Respondents in the North segment", "in the North segment",
              "respondents in the North segment"),
    "Campus": ("Respondents in the Campus segment", "in the Campus segment",
               "respondents in the Campus segment"),
    "SMEs": ("SMEs", "among SMEs", "SMEs"),
    "Operations and logistics": ("Respondents in the Operations and logistics segment",
                                 "in the Operations and logistics segment",
                                 "respondents in the Operations and logistics segment"),
    "Enterprise segment": ("Respondents in the Enterprise segment",
                           "in the Enterprise segment",
                           "respondents in the Enterprise segment"),
}


@pytest.mark.parametrize("label", CASES)
def test_segment_name_rule(label):
    subject, among, people = CASES[label]
    name = SegmentName.of(label)
    assert (name.subject, name.among, name.people) == (subject, among, people)


@pytest.fixture(scope="module")
def store():
    return SharedResults()          # the estimates, shared by the relabelled pages


@pytest.mark.parametrize("label", CASES)
def test_findings_sentences_read_for_any_label(label, demo_survey, store, monkeypatch):
    subject, among, people = CASES[label]
    q = demo_survey.questionnaire
    labels = q.labels

    def relabelled(name):
        return {**labels(name), 1: label} if name == "segment" else labels(name)

    monkeypatch.setattr(q, "labels", relabelled)
    f = SegmentFindings(demo_survey, "segment", 1, shared=store)
    assert f.label == label
    # the page's line under the title names the segmenting variable and the segment
    # ("segment of customer segment" read badly)
    assert (f"Personal-computer customer satisfaction survey &middot; Customer segment: "
            f"{label} &middot; base n = 508 &middot; 14% of the weighted sample") \
        in f.header_html()
    among_ = among[0].upper() + among[1:]
    assert f.summary().findings[:2] == [
        f"{subject} do worse than the rest of the sample on 2 of 4 key metrics: overall "
        "satisfaction 6.9 vs 7.1 and NPS +2 vs +10 in total.",
        "They rate 7 of 22 attributes significantly above the rest of the sample, most of all "
        "speed of response to service requests (6.4 vs 6.1) and delivery (7.6 vs 7.3); 2 are "
        "below."]
    assert f.profile().findings == [
        f"{subject} are 14% of the weighted sample (base n = 508 of 3,994 respondents).",
        "Compared with the total they are significantly more often student (occupation: 86% "
        "vs 21% in total, p < 0.001)."]
    assert f.key_metrics().findings[0] == (
        f"{among_}: overall satisfaction 6.9 (95% CI 6.8 to 7.1, n = 508; total 7.1), "
        "significantly lower than the rest of the sample (p = 0.024).")
    assert f.attributes().findings[0] == (
        f"{subject} rate delivery highest (mean 7.6 on the 0-10 scale, n = 485) and price / "
        "value for money lowest (6.0, n = 503).")
    assert f.drivers().findings[0] == (
        f"The strongest drivers of overall satisfaction {among} are price / value for money "
        "(46% of the explained variance), battery life (26%) and portability and weight (8%).")
    pain = f.pain_points().findings
    assert pain[0] == (
        f"The most frequent pain points {among} are prices too high (45% vs 24% in total), "
        "short battery life (27% vs 28% in total) and slow after-sales service (25% vs 25% in "
        "total) (base n = 508).")
    assert (f"The most frequent themes in comments among {people} who commented are battery "
            "life (26% vs 29% in total), price and value for money (24% vs 12% in total) and "
            "overheating and fan noise (14% vs 18% in total) (base n = 134).") in pain
    assert f.channels().findings[0].startswith(
        f"The most frequent channels {among} are E-commerce platform (JD, Tmall, Amazon...) "
        "(44% vs 30% in total)")


@pytest.mark.parametrize("label", CASES)
def test_index_sentence_reads_for_any_label(label):
    _, among, people = CASES[label]

    def seg(name, estimate, sig, drivers):
        return {"label": name, "status": "ok", "headline": {"metrics": [
            {"key": "sat", "label": "Overall satisfaction", "estimate": estimate,
             "display": f"{estimate:.1f}", "sig": sig, "total_display": "7.1"}],
            "drivers": drivers}}

    text = index_summary([
        seg("Students", 8.0, "higher", []),
        seg(label, 6.1, "lower", [{"label": "Speed of response", "importance": 57.0,
                                   "act_here": True}])])
    assert text == (f"Overall satisfaction is highest among Students (8.0) and lowest {among} "
                    f"(6.1; total 7.1); {people} would gain most from speed of response (57% "
                    "of what drives it).")


def test_the_summary_names_the_segment_when_no_key_metric_comes_first(demo_survey, store):
    """Without key metrics the summary opens on the attributes: "They" would have nothing
    to refer to, so that sentence names the segment."""
    f = SegmentFindings(demo_survey, "segment", 1, spec={"metrics": []}, shared=store)
    assert f.summary().findings[0] == (
        "Students rate 7 of 22 attributes significantly above the rest of the sample, most "
        "of all speed of response to service requests (6.4 vs 6.1) and delivery (7.6 vs "
        "7.3); 2 are below.")
