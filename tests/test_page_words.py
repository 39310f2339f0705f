"""What a new user reads: Lao beside English, plain words, and a quiet console."""

from __future__ import annotations

import socket

import pytest

from search.errors import QueryError
from search.retrieve.checks import check_question
from search.serve.render import card, search_error_html
from search.serve.startup import StartupPage, _QuietServer
from served import free_port


def test_the_sign_in_message_names_each_field_in_lao(tmp_path):
    from search.serve.access import Users, save_user
    from search.serve.page import launch_options

    users_file = tmp_path / "users.txt"
    save_user(users_file, "noy", "reader", "a long enough password")
    message = launch_options(Users(users_file), False, 50)["auth_message"]
    for english, lao in (("Username", "ຊື່ຜູ້ໃຊ້"), ("Password", "ລະຫັດຜ່ານ"), ("Login", "ເຂົ້າລະບົບ")):
        assert f"{english} · {lao}" in message


def test_an_over_long_question_is_refused_in_lao_too():
    with pytest.raises(QueryError) as info:
        check_question("traffickers " * 300)
    box = search_error_html(info.value)
    assert "the limit is 2000" in box and "ຄຳຖາມຍາວ 3599 ຕົວອັກສອນ, ເກີນຂີດຈຳກັດ 2000 ຕົວອັກສອນ" in box
    other = search_error_html(QueryError("unknown passage language 'fr'"))
    assert "unknown passage language" in other and "ກະລຸນາແກ້ໄຂ" in other  # any other refusal: a Lao line too


def test_why_this_passage_speaks_plainly(searcher):
    result = searcher.search("ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກຈັກປີ?", k=3, highlight=True)
    why = card(result.hits[0], searcher.context(result.hits[0]))
    assert "ranked by the meaning of the whole passage: #" in why and "ranked by the words it shares with the question" in why
    assert "in translation (Lao ↔ English)" in why
    for jargon in ("BM25", "fusion", "reciprocal", "dense", "bridge", "candidates"):
        assert jargon not in why, jargon


def test_a_browser_that_leaves_the_getting_ready_page_is_no_traceback(capsys):
    server = _QuietServer(("127.0.0.1", 0), None, bind_and_activate=False)
    for gone in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "Connection reset by peer")):
        try:
            raise gone
        except ConnectionError:
            server.handle_error(None, ("127.0.0.1", 50000))
    assert capsys.readouterr().err == ""
    try:
        raise ValueError("a real failure")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 50000))
    assert "ValueError: a real failure" in capsys.readouterr().err  # other failures still show
    server.server_close()


def test_the_getting_ready_page_serves_on_after_a_client_leaves(capfd):
    """A client that asks and leaves at once (reset, not read): the page still answers the next one, quietly."""
    port = free_port()
    page = StartupPage("127.0.0.1", port, echo=lambda message: None).start()
    try:
        for _ in range(20):
            leaver = socket.create_connection(("127.0.0.1", port))
            leaver.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            leaver.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            leaver.close()  # a reset, as a closed tab sends
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"GET /__startup__.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert client.recv(100).startswith(b"HTTP/1.0 200")
    finally:
        page.stop()
    assert "Traceback" not in capfd.readouterr().err
