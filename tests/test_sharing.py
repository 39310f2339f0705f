"""Sharing the app: users file and hashes, roles enforced at the API, read-only mode, limits, the audit log.

The pure parts (hashing, rate limits, the audit log's lines) run alone; the app runs
for real, with the real model, signed into through gradio_client and in Chromium.
"""

import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from search.serve import audit
from search.serve.access import (
    RateLimit, Users, UsersFileError, allowed_hosts, hash_password, is_loopback, read_users, save_user, verify_password,
)
from search.cli import cli
from search.ingest.corpus import remove_report, restore_report
from search.errors import DocumentError

from conftest import ROOT
from served import serve

NOTE = "Boat inspections on the Mekong in 2023 found 41 ferries without life jackets."


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# --- users file, hashes, limits: no model needed ---------------------------------------------------------------

def test_a_password_is_stored_as_a_salted_hash_and_checked():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$") and "correct" not in first  # salted, never the password
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert not verify_password("correct horse", "scrypt$16384$8$1$not-base64$!!")  # damaged: no, not a crash


def test_users_file_is_private_refuses_duplicates_and_short_passwords(tmp_path):
    path = tmp_path / "users.txt"
    save_user(path, "ນາງ.ແກ້ວ", "editor", "s3cret-pass")  # Lao names are names
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(UsersFileError, match="already a user"):
        save_user(path, "ນາງ.ແກ້ວ", "reader", "s3cret-pass")
    save_user(path, "ນາງ.ແກ້ວ", "reader", "another-pass", replace=True)
    assert read_users(path)["ນາງ.ແກ້ວ"].role == "reader"
    with pytest.raises(UsersFileError, match="too short"):
        save_user(path, "bo", "reader", "short")
    with pytest.raises(UsersFileError, match="cannot be a user name"):
        save_user(path, "a:b", "reader", "long-enough")
    with pytest.raises(UsersFileError, match="unknown role"):
        save_user(path, "bo", "admin", "long-enough")
    assert "another-pass" not in path.read_text(encoding="utf-8")


def test_a_malformed_users_file_names_the_line(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("# team\nana:reader:" + hash_password("readerpass") + "\nbob:admin:scrypt$1\n", encoding="utf-8")
    with pytest.raises(UsersFileError, match=r"line 3: expected name:role:hash"):
        Users(path)
    with pytest.raises(UsersFileError, match="cannot read the users file"):
        Users(tmp_path / "missing.txt")
    path.write_text("# nobody yet\n", encoding="utf-8")
    with pytest.raises(UsersFileError, match="has no user"):
        Users(path)


def test_sign_in_is_locked_after_five_wrong_passwords_then_opens_again(tmp_path):
    path = tmp_path / "users.txt"
    save_user(path, "ana", "reader", "readerpass")
    clock = Clock()
    users = Users(path, clock=clock)
    assert users.authenticate("ana", "readerpass") and not users.authenticate("nobody", "readerpass")
    for _ in range(5):
        assert not users.authenticate("ana", "guess")
    assert not users.authenticate("ana", "readerpass")  # locked, even with the right password
    clock.now += 301
    assert users.authenticate("ana", "readerpass")


def test_users_added_or_removed_while_running_take_effect(tmp_path):
    path = tmp_path / "users.txt"
    save_user(path, "ana", "reader", "readerpass")
    users = Users(path)
    assert users.role("ed") is None
    save_user(path, "ed", "editor", "editorpass")
    assert users.role("ed") == "editor" and users.authenticate("ed", "editorpass")
    path.write_text("garbage\n", encoding="utf-8")  # a bad edit keeps the last good list
    assert users.role("ed") == "editor"


def test_rate_limit_is_a_sliding_window_per_user():
    clock = Clock()
    limit = RateLimit(2, 60, clock=clock)
    assert limit.take("ana") == 0 and limit.take("ana") == 0
    assert limit.take("ana") == pytest.approx(60) and limit.take("ed") == 0  # ed has his own count
    clock.now += 30
    assert limit.take("ana") == pytest.approx(30)
    clock.now += 30.5
    assert limit.take("ana") == 0
    for i in range(10_001):  # a flood of one-off names (sign-in guesses) is forgotten once its window passes
        limit.take(f"guess-{i}")
    clock.now += 61
    limit.take("ana")
    assert len(limit._events) <= 2


def test_audit_log_lines_cannot_be_forged_by_a_file_name(tmp_path):
    audit.record(tmp_path, "ed", "upload", "evil\n2026-01-01\tadmin\tremove\tall.txt\tok.txt", "ok: saved")
    audit.record(tmp_path, "ana", "upload", "ລາຍງານ.txt", "refused: reader")
    lines = (tmp_path / "audit.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "ລາຍງານ.txt" in lines[1]  # Lao stays Lao
    records = audit.read(tmp_path)
    assert [r["user"] for r in records] == ["ed", "ana"] and records[0]["outcome"] == "ok: saved"


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True),
                                            ("0.0.0.0", False), ("192.168.1.20", False), ("::", False), ("example.org", False)])
def test_which_addresses_are_this_machine_only(host, loopback):
    assert is_loopback(host) is loopback


def test_cli_adds_lists_and_removes_users_without_showing_hashes(tmp_path):
    runner, path = CliRunner(), str(tmp_path / "team.txt")
    added = runner.invoke(cli, ["users", "add", "ana", "--role", "reader", "--users", path], input="readerpass\nreaderpass\n")
    assert added.exit_code == 0, added.output
    scripted = runner.invoke(cli, ["users", "add", "ed", "--role", "editor", "--users", path, "--password-stdin"],
                             input="editorpass\n")
    assert scripted.exit_code == 0, scripted.output
    mismatch = runner.invoke(cli, ["users", "add", "cy", "--role", "reader", "--users", path], input="one-pass\ntwo-pass\nx\n")
    assert mismatch.exit_code != 0
    listed = runner.invoke(cli, ["users", "list", "--users", path])
    assert listed.stdout.splitlines() == ["ana\treader", "ed\teditor"] and "scrypt" not in listed.output
    assert Users(path).authenticate("ed", "editorpass")
    assert runner.invoke(cli, ["users", "remove", "ana", "--users", path]).exit_code == 0
    gone = runner.invoke(cli, ["users", "remove", "ana", "--users", path])
    assert gone.exit_code == 1 and "ana is not a user" in gone.output


def test_a_removed_report_is_moved_aside_never_outside_the_corpus(mini_corpus, tmp_path):
    (tmp_path / "secret.txt").write_text("not a report", encoding="utf-8")
    for name in ("../secret.txt", ".removed/x.txt", "", "missing.txt"):
        with pytest.raises(DocumentError, match="is not a report"):
            remove_report(mini_corpus, name)
    moved = remove_report(mini_corpus, "rice-report.md")
    assert moved.parent == mini_corpus / ".removed" and not (mini_corpus / "rice-report.md").exists()
    restore_report(mini_corpus, "rice-report.md", moved)
    assert (mini_corpus / "rice-report.md").exists() and not moved.exists()


def test_the_app_refuses_to_serve_the_network_without_sign_in(tmp_path):
    """Refused before any model or index work: nothing is built, one line says what to do."""
    run = subprocess.run([sys.executable, str(ROOT / "app.py"), "--host", "0.0.0.0", "--index", str(tmp_path / "index"),
                          "--corpus", str(tmp_path / "corpus")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and not (tmp_path / "index").exists()
    assert "refusing to serve 0.0.0.0 with no sign-in" in run.stderr and "python -m search users add" in run.stderr
    assert "--read-only" in run.stderr and "Traceback" not in run.stderr


# --- the app, shared: real model, real server -------------------------------------------------------------------

@pytest.fixture(scope="module")
def team(tmp_path_factory, embedder):
    """The app over a copy of the mini corpus, with a reader and an editor, two uploads a minute."""
    from search.serve.page import build_app
    from search import build_index

    root = tmp_path_factory.mktemp("team")
    corpus, index, users_file = root / "corpus", root / "index", root / "users.txt"
    shutil.copytree(ROOT / "tests" / "data" / "mini", corpus)
    build_index(corpus, index, embedder=embedder)
    save_user(users_file, "ana", "reader", "readerpass")
    save_user(users_file, "ed", "editor", "editorpass")
    users = Users(users_file)
    app = build_app(index, corpus_dir=corpus, embedder=embedder, users=users, uploads_per_minute=2, max_upload_mb=1)
    url = serve(app, users=users)
    yield {"url": url, "corpus": corpus, "index": index, "users": users_file, "root": root}
    app.close()


def _client(team, name=None, password=None):
    from gradio_client import Client

    return Client(team["url"], auth=(name, password) if name else None, verbose=False)


def test_the_api_needs_a_signed_in_user(team):
    with pytest.raises(Exception, match="credentials were not provided"):
        _client(team)
    with pytest.raises(ValueError, match="Could not login"):
        _client(team, "ana", "wrong-password")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(team["url"] + "gradio_api/info")
    assert refused.value.code == 401
    hits = _client(team, "ana", "readerpass").predict("How many tonnes of rice were harvested?", 2, "en", api_name="/search")["hits"]
    assert hits and hits[0]["citation"]["document"] == "rice-report.md"


def test_a_reader_cannot_write_through_the_api(team, tmp_path):
    from gradio_client import handle_file

    note = tmp_path / "ferries.txt"
    note.write_text(NOTE, encoding="utf-8")
    before = sorted(p.name for p in team["corpus"].iterdir())
    current = (team["index"] / "CURRENT").read_bytes()
    reader = _client(team, "ana", "readerpass")
    with pytest.raises(Exception, match="needs an editor's account; ana is a reader"):
        reader.predict(handle_file(str(note)), api_name="/upload")
    with pytest.raises(Exception, match="needs an editor's account"):
        reader.predict("rice-report.md", api_name="/remove")
    with pytest.raises(Exception, match="needs an editor's account"):
        reader.predict(api_name="/reindex")
    assert sorted(p.name for p in team["corpus"].iterdir()) == before
    assert (team["index"] / "CURRENT").read_bytes() == current
    refused = [(r["user"], r["action"], r["outcome"]) for r in audit.read(team["index"]) if r["user"] == "ana"]
    assert refused == [("ana", "upload", "refused: reader"), ("ana", "remove", "refused: reader"),
                       ("ana", "rebuild", "refused: reader")]


def test_an_editor_uploads_within_the_limit_and_removes_and_each_write_is_recorded(team, tmp_path):
    from gradio_client import handle_file

    note = tmp_path / "ferries.txt"
    note.write_text(NOTE, encoding="utf-8")
    editor = _client(team, "ed", "editorpass")
    assert "searchable now" in editor.predict(handle_file(str(note)), api_name="/upload")[0]
    reader = _client(team, "ana", "readerpass")
    hits = reader.predict("How many ferries had no life jackets?", 1, "all", api_name="/search")["hits"]
    assert hits[0]["citation"]["document"] == "ferries.txt"
    with pytest.raises(Exception, match="already in the library as ferries.txt"):  # the same bytes again
        editor.predict(handle_file(str(note)), api_name="/upload")
    assert sorted(p.name for p in team["corpus"].glob("ferries*")) == ["ferries.txt"]
    with pytest.raises(Exception, match="at most 2 uploads a minute"):
        editor.predict(handle_file(str(note)), api_name="/upload")
    assert not (team["corpus"] / "ferries-3.txt").exists()
    assert "Removed" in editor.predict("ferries.txt", api_name="/remove")[0]
    assert (team["corpus"] / ".removed" / "ferries.txt").exists() and not (team["corpus"] / "ferries.txt").exists()
    hits = reader.predict("How many ferries had no life jackets?", 3, "all", api_name="/search")["hits"]
    assert "ferries.txt" not in [h["citation"]["document"] for h in hits]
    assert "Index up to date" in editor.predict(api_name="/reindex")[0]
    mine = [(r["action"], r["file"], r["outcome"].split(":")[0]) for r in audit.read(team["index"]) if r["user"] == "ed"]
    assert mine == [("upload", "ferries.txt", "ok"), ("upload", "ferries.txt", "refused"), ("upload", "ferries.txt", "refused"),
                    ("remove", "ferries.txt", "ok"), ("rebuild", "-", "ok")]


def _sign_in(page, name, password):
    page.locator("input[type=text]").fill(name)
    page.locator("input[type=password]").fill(password)
    page.get_by_role("button", name="Login").click()


def test_page_sign_in_refuses_a_wrong_password_then_shows_the_role(team, browser):
    page = browser.new_page()
    page.goto(team["url"])
    page.get_by_text("sign in with the account your team gave you").wait_for(timeout=30_000)
    for field in ("Username · ຊື່ຜູ້ໃຊ້", "Password · ລະຫັດຜ່ານ", "Login · ເຂົ້າລະບົບ"):  # Gradio's labels are English only
        assert page.get_by_text(field).count() == 1, field
    _sign_in(page, "ana", "not-her-password")
    page.get_by_text("Incorrect Credentials").wait_for(timeout=30_000)
    assert page.locator("#question").count() == 0
    _sign_in(page, "ana", "readerpass")
    page.locator("#signed-in").get_by_text("Signed in as ana (reader)").wait_for(timeout=60_000)
    page.get_by_text("Corpus · ຂໍ້ມູນ").click()
    page.locator("#corpus-stats").get_by_text("rice-report.md").wait_for()
    assert page.locator("#upload").count() == 0 or not page.locator("#upload").is_visible()  # no write controls
    page.close()


def test_page_an_editor_sees_the_write_controls(team, browser):
    page = browser.new_page()
    page.goto(team["url"])
    _sign_in(page, "ed", "editorpass")
    page.locator("#signed-in").get_by_text("Signed in as ed (editor)").wait_for(timeout=60_000)
    page.get_by_text("Corpus · ຂໍ້ມູນ").click()
    page.locator("#upload").wait_for(timeout=30_000)
    assert page.locator("#remove-report").is_visible() and page.locator("#rebuild").is_visible()
    page.close()


def test_read_only_has_no_write_endpoint_and_refuses_file_uploads(tip_index, embedder, tmp_path):
    from search.serve.page import build_app

    index = tmp_path / "index"
    shutil.copytree(tip_index, index)
    app = build_app(index, corpus_dir=tmp_path / "corpus", embedder=embedder, read_only=True)
    url = serve(app, read_only=True, max_upload_mb=50)
    try:
        client = _client({"url": url})
        names = {fn.api_name for fn in app.fns.values()}
        assert not names & {"upload", "remove", "reindex"}
        with pytest.raises(Exception):
            client.predict(api_name="/upload")
        hits = client.predict("How many traffickers were convicted in 2021?", 1, "all", api_name="/search")["hits"]
        assert "conviction of 10 traffickers" in hits[0]["text"]
        boundary = "----x"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n"
                f"Content-Type: text/plain\r\n\r\n{NOTE}\r\n--{boundary}--\r\n").encode()
        request = urllib.request.Request(url + "gradio_api/upload", data=body, method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 403
        empty = body.replace(NOTE.encode(), b"")  # an empty file passed Gradio's limit of 0 bytes
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url + "gradio_api/upload", data=empty, method="POST",
                                                          headers=request.headers))
        assert refused.value.code == 403
        assert not (index / "audit.log").exists()
    finally:
        app.close()


def test_a_changed_password_ends_open_sessions(team):
    """users add --replace once left signed-in sessions searching (and re-indexing) with the old password."""
    search = ("How much rice?", 1, "all")
    client = _client(team, "ana", "readerpass")
    assert client.predict(*search, api_name="/search")["hits"]
    save_user(team["users"], "ana", "reader", "a-new-password", replace=True)
    try:
        with pytest.raises(Exception):  # "session has ended", or its stream is closed first (the token is gone)
            client.predict(*search, api_name="/search")
        with pytest.raises(Exception):
            client.predict(*search, api_name="/search")
        with pytest.raises(ValueError, match="Could not login"):
            _client(team, "ana", "readerpass")
        assert _client(team, "ana", "a-new-password").predict(*search, api_name="/search")["hits"]
        assert _client(team, "ed", "editorpass").predict(*search, api_name="/search")["hits"]  # others keep theirs
    finally:
        save_user(team["users"], "ana", "reader", "readerpass", replace=True)


def test_the_source_views_page_images_need_a_signed_in_session(team):
    """The page-image route is the app's own, outside Gradio's and the API's sign-in: it asks for the page's."""
    import http.cookiejar
    import urllib.parse

    address = team["url"] + "page-image?" + urllib.parse.urlencode({"doc": "rice-report.md", "page": 1})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(address, timeout=30)
    assert refused.value.code == 401 and refused.value.read().decode() == "Sign in on the app's page first."
    signed = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = urllib.parse.urlencode({"username": "ana", "password": "readerpass"}).encode()
    signed.open(team["url"] + "login", data=login, timeout=30)
    with pytest.raises(urllib.error.HTTPError) as refused:  # signed in: past the door, and no such page image
        signed.open(address, timeout=30)
    assert refused.value.code == 404 and "rice-report.md was not read by OCR" in refused.value.read().decode()


@pytest.mark.parametrize("host, status", [("127.0.0.1", 200), ("localhost", 200), ("evil.example", 400),
                                          ("rebind.attacker.test", 400)])
def test_requests_for_other_host_names_are_refused(team, host, status):
    """DNS rebinding: a page on another site reaches the app under its own name, which is not on the list."""
    import http.client
    import urllib.parse

    address = urllib.parse.urlsplit(team["url"])
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", "/config", headers={"Host": f"{host}:{address.port}"})
    assert connection.getresponse().status in ((status,) if status == 400 else (200, 401))


@pytest.mark.parametrize("host, expected, absent", [
    ("127.0.0.1", ["localhost", "127.0.0.1", "::1"], "search.example.org"),
    ("search.example.org", ["localhost", "search.example.org"], "evil.example"),
    ("0.0.0.0", ["localhost", socket.gethostname().lower()], "evil.example"),
])
def test_the_host_allow_list(host, expected, absent):
    names = allowed_hosts(host, ("proxy.example.net",))
    assert set(expected) <= set(names) and "proxy.example.net" in names and absent not in names


def test_a_report_added_since_the_app_started_can_be_removed_through_the_api(team):
    """A fresh client's remove was refused as "not in the list of choices" (the choices of the page's first build)."""
    (team["corpus"] / "api-added.md").write_text("# Boat licences\n\nThe river office issued 120 boat licences "
                                                 "in 2024.\n", encoding="utf-8")
    assert "Index up to date" in _client(team, "ed", "editorpass").predict(api_name="/reindex")[0]
    fresh = _client(team, "ed", "editorpass")
    message = fresh.predict("api-added.md", api_name="/remove")[0]
    assert "Removed **api-added.md**" in message and not (team["corpus"] / "api-added.md").exists()
