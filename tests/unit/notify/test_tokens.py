from kj_notify.domain.tokens import TokenBook, bearer, dev_token, token_hash


def test_a_token_speaks_only_for_its_own_unit() -> None:
    book = TokenBook({"U1": token_hash("secret-one"), "U2": token_hash("secret-two")})
    assert book.speaks_for("U1", "secret-one")
    assert not book.speaks_for("U2", "secret-one")
    assert not book.speaks_for("U3", "secret-one")
    assert not book.speaks_for("U1", None)
    assert not book.speaks_for("U1", "")


def test_dev_tokens_are_derived_per_unit_and_only_when_a_dev_secret_is_set() -> None:
    token = dev_token("dev", "SY-P01-M1")
    assert TokenBook({}, dev_secret="dev").speaks_for("SY-P01-M1", token)
    assert not TokenBook({}, dev_secret="dev").speaks_for("SY-P01-M2", token)
    assert not TokenBook({}).speaks_for("SY-P01-M1", token)


def test_configured_hashes_win_over_dev_tokens() -> None:
    book = TokenBook({"U1": token_hash("real")}, dev_secret="dev")
    assert book.speaks_for("U1", "real")
    assert not book.speaks_for("U1", dev_token("dev", "U1"))


def test_bearer_header_parsing() -> None:
    assert bearer("Bearer abc") == "abc"
    assert bearer("bearer  abc ") == "abc"
    assert bearer("Basic abc") is None
    assert bearer("Bearer ") is None
    assert bearer(None) is None
