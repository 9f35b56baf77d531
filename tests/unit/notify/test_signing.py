from kj_notify.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers, verify


def test_a_signature_covers_the_timestamp_and_the_body() -> None:
    headers = signed_headers("s3cret", "1700000000", b'{"a":1}')
    signature = headers[SIGNATURE_HEADER]
    assert signature.startswith("sha256=")
    assert headers[TIMESTAMP_HEADER] == "1700000000"
    assert verify("s3cret", "1700000000", b'{"a":1}', signature)
    assert not verify("s3cret", "1700000001", b'{"a":1}', signature)
    assert not verify("s3cret", "1700000000", b'{"a":2}', signature)
    assert not verify("other", "1700000000", b'{"a":1}', signature)
