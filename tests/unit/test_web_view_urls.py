"""The URL a view forwards to names the owner's same view and the key as one path segment."""

from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from ecommerce_streams.web.views import view_url

identifiers = st.from_regex(r"\A[A-Za-z0-9._:-]{1,64}\Z")


@given(key=identifiers | st.sampled_from([".", "..", "...", "a..b", "..:..", ".-."]))
def test_a_forwarded_url_keeps_the_key_one_segment_of_the_same_view(key: str) -> None:
    url = view_url("http://127.0.0.1:6067/", "orders", key)

    assert (url.scheme, url.host, url.port) == ("http", "127.0.0.1", 6067)
    _, page, segment = url.raw_path.split("/")
    assert page == "orders"
    assert "." not in segment  # no dot segment for any URL normaliser to resolve
    assert unquote(segment) == key


def test_the_dot_dot_key_is_sent_encoded() -> None:
    assert str(view_url("http://127.0.0.1:6067", "inventory", "..")) == (
        "http://127.0.0.1:6067/inventory/%2E%2E"
    )
