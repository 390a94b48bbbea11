"""Server-rendered pages: list (sortable), report (table, cards, warnings, forms), history, errors, escaping."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

SCRIPT = "<script>alert('x')</script>"
ESCAPED = str(escape(SCRIPT))


def rep_rows(page: str) -> list[tuple[int, str]]:
    return [(int(i), flags) for i, flags in re.findall(r'<tr data-rep="(\d+)" data-flags="([^"]*)"', page)]


def test_list_links_each_session_with_reps_and_flags(client, upload):
    clean = upload("clean", name="Clean day")
    rounding = upload("rounding", name="Rounding day")
    page = client.get("/").text
    for session in (clean, rounding):
        assert f'href="http://testserver/sessions/{session["id"]}">{session["name"]}</a>' in page
    assert "back rounding ×" in page
    assert 'id="upload"' in page and 'type="file"' in page


@pytest.mark.parametrize(("sort", "order", "first"), [("name", "asc", "A"), ("name", "desc", "B"),
                                                      ("reps", "asc", None), ("date", "desc", None)])
def test_list_sorts(client, upload, sort, order, first):
    upload("clean", name="B")
    upload("rounding", name="A")
    sessions = client.get("/api/sessions").json()
    page = client.get("/", params={"sort": sort, "order": order}).text
    shown = re.findall(r'/sessions/\d+">([^<]*)</a>', page)
    if first is None:
        key = {"reps": lambda s: s["summary"]["rep_count"], "date": lambda s: s["date"]}[sort]
        first = sorted(sessions, key=key, reverse=order == "desc")[0]["name"]
    assert shown[0] == first
    assert client.get("/", params={"sort": "password"}).status_code == 422


def test_report_page_has_one_row_per_rep_with_its_flags_and_cues(client, upload):
    session = upload("rounding")
    report = session["report"]
    page = client.get(f"/sessions/{session['id']}").text
    assert rep_rows(page) == [(rep["index"], " ".join(rep["flags"])) for rep in report["reps"]]
    flagged = [rep for rep in report["reps"] if "back_rounding" in rep["flags"]]
    assert flagged, "the rounding preset should raise back_rounding"
    assert escape(report["flag_vocabulary"]["back_rounding"]) in page
    assert page.count('class="num fault"') >= len(flagged)
    assert page.count('class="card set-card"') == len(report["sets"])
    for element in ('id="time-plot"', 'id="signature-plot"', 'id="trend-depth"', 'id="trend-rounding"',
                    'id="trend-tempo"', 'id="edit-form"', 'id="reanalyse-form"', 'id="delete-session"',
                    f'/api/sessions/{session["id"]}/reps.csv', f'/api/sessions/{session["id"]}/report.json',
                    f'/api/sessions/{session["id"]}/recording'):
        assert element in page


def test_report_page_colours_cells_against_the_thresholds(client, upload):
    session = upload("rounding")
    lowered = client.post(f"/api/sessions/{session['id']}/reanalyse", json={"back_rounding_deg": 1}).json()
    rounding_column = 2  # after trunk and pelvis
    page = client.get(f"/sessions/{session['id']}").text
    rows = re.findall(r'<tr data-rep="\d+".*?</tr>', page, flags=re.S)
    ratings = [re.findall(r'<td class="num (\w+)">', row)[rounding_column] for row in rows]
    expected = ["fault" if "back_rounding" in rep["flags"] else "good" if rep["back_rounding_deg"] < 0.75 else "warn"
                for rep in lowered["report"]["reps"]]
    assert ratings == expected
    assert "fault" in ratings


def test_report_page_shows_data_quality_warnings(client, upload):
    session = upload("back_only")
    report = session["report"]
    page = client.get(f"/sessions/{session['id']}").text
    assert report["warnings"], "a back-only recording should warn about the missing hip sensor"
    for warning in report["warnings"]:
        assert escape(warning["message"]) in page


def test_user_text_is_escaped_everywhere(client, upload):
    session = upload("clean", name=SCRIPT, notes=SCRIPT, exercise=SCRIPT, filename=f"{SCRIPT}.csv")
    pages = [client.get(path).text for path in ("/", f"/sessions/{session['id']}", "/history")]
    for page in pages:
        assert SCRIPT not in page
        assert ESCAPED in page
    assert client.get("/api/sessions").json()[0]["name"] == SCRIPT  # stored as typed


def test_history_shows_a_metric_per_session(client, upload):
    first, second = upload("clean"), upload("rounding")
    page = client.get("/history", params={"metric": "rep_count"}).text
    for session in (first, second):
        assert f'<tr data-session-id="{session["id"]}">' in page
        assert f'<td class="num">{session["summary"]["rep_count"]}</td>' in page
    for metric in ("back_rounding_deg", "trunk_angle_deg", "rep_duration_s", "flag_count"):
        assert client.get("/history", params={"metric": metric}).status_code == 200
    assert client.get("/history", params={"metric": "nope"}).status_code == 422


def test_missing_pages_are_html_errors(client):
    response = client.get("/sessions/42")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no session with id 42" in response.text
    assert client.get("/no/such/page").status_code == 404


def test_static_files_and_vendored_uplot_are_served(client):
    assert "uPlot" in client.get("/static/vendor/uPlot.iife.min.js").text
    assert client.get("/static/vendor/uPlot.min.css").status_code == 200
    for name in ("hinge.css", "hinge.js", "report.js", "history.js"):
        assert client.get(f"/static/{name}").status_code == 200
