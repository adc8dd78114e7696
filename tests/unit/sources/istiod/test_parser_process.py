import asyncio
import json
import os
import signal

import pytest

from exporter.sources.errors import SourceError
from exporter.sources.istiod.metrics import parse_metrics
from exporter.sources.istiod.parser_process import BATCH_ROWS, ParserProcess, _answer, _result, parse_plain
from exporter.sources.istiod.syncz import adopt, parse_syncz
from tests.support import tree_memory_mib, wait_for
from tests.unit.sources.istiod.test_metrics import BODY as METRICS
from tests.unit.sources.istiod.test_source import SYNCZ_1_14, SYNCZ_1_18, entry_1_23

DOCUMENT = [
    entry_1_23("a.shop"),
    entry_1_23("b.shop", eds_sent="e3"),
    entry_1_23("c.shop", lds_error="Error adding/updating listener(s) 0.0.0.0_8080: bad filter", version="1.20.1"),
    *json.loads(json.dumps(SYNCZ_1_14)),
    *json.loads(json.dumps(SYNCZ_1_18)),
    {"no": "proxy"},
]


@pytest.fixture
async def parser():
    p = ParserProcess()
    yield p
    await p.close()


async def test_the_child_parses_like_parse_syncz_and_unchanged_proxies_stay_the_same_objects(parser):
    body = json.dumps(DOCUMENT).encode()
    rows = await parser.parse_syncz(body)
    assert adopt(rows) == parse_syncz(DOCUMENT)
    first = adopt(rows)
    changed = json.loads(body)
    changed[1]["resources"]["type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"]["acked"] = "e3"
    second = adopt(await parser.parse_syncz(json.dumps(changed).encode()), {p.proxy: p for p in first})
    assert second == parse_syncz(changed)
    assert second[0] is first[0] and second[2] is first[2]
    assert second[1] is not first[1] and second[1].worst == "SYNCED"
    assert parser.started == 1


async def test_many_proxies_come_back_in_batches_each_unpickled_alone(parser):
    """Unpickling holds the GIL for the whole message: 20,000 proxies in one message held the loop ~8 ms."""
    document = [entry_1_23(f"p{i}.shop", eds_sent="e3" if i % 7 == 0 else "e1") for i in range(2 * BATCH_ROWS + 500)]
    await parser.parse_syncz(b"[]")  # the child is up
    conn = parser._conn
    assert conn is not None
    messages: list[object] = []
    real_recv = conn.recv

    def recv() -> object:
        messages.append(real_recv())
        return messages[-1]

    conn.recv = recv  # type: ignore[method-assign]
    rows = await parser.parse_syncz(json.dumps(document).encode())
    assert adopt(rows) == parse_syncz(document)
    assert messages[0] == ("rows", len(document))
    assert [len(m) for m in messages[1:]] == [BATCH_ROWS, BATCH_ROWS, 500]  # type: ignore[arg-type]
    assert await parser.parse_syncz(b"[]") == ()  # nothing left over in the pipe


@pytest.mark.parametrize(
    "body", [b'[{"proxy": "a.b",', b"<html>nope</html>", b"", b'[{"proxy": "a.b"}] tail', b"\xff\xfe[]", b'{"a": 1}']
)
async def test_errors_are_those_of_the_parse_in_this_process(parser, body):
    with pytest.raises(ValueError, match=r".") as here:
        parse_plain(body)
    with pytest.raises(ValueError, match=r".") as there:
        await parser.parse_syncz(body)
    assert type(there.value) is type(here.value) and str(there.value) == str(here.value)
    if isinstance(here.value, json.JSONDecodeError):
        assert (there.value.msg, there.value.pos) == (here.value.msg, here.value.pos)


async def test_a_document_of_unknown_shape_is_a_value_error(parser):
    with pytest.raises(ValueError, match="none of the 2 syncz entries names a proxy"):
        await parser.parse_syncz(b'[{"id": 1}, {"id": 2}]')
    assert parser.started == 1  # the child survives a bad document


async def test_a_child_that_dies_fails_one_parse_and_the_next_starts_a_new_one(parser):
    await parser.parse_syncz(b"[]")
    assert parser._process is not None
    os.kill(parser._process.pid, signal.SIGKILL)
    parser._process.join(5)
    # the child is seen dead before sending: a new one parses this body
    assert await parser.parse_syncz(b"[]") == ()
    assert parser.started == 2


async def test_a_child_killed_while_parsing_is_an_internal_error(parser):
    await parser.parse_syncz(b"[]")
    assert parser._process is not None
    pid = parser._process.pid
    big = json.dumps([entry_1_23(f"p{i}.ns") for i in range(60_000)]).encode()
    task = asyncio.create_task(parser.parse_syncz(big))
    await asyncio.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(SourceError, match="the istiod parser process exited") as err:
        await task
    assert err.value.reason == "internal"
    assert len(await parser.parse_syncz(json.dumps(DOCUMENT[:2]).encode())) == 2


async def test_a_parse_whose_time_is_up_stops_the_child_and_the_next_parse_works(parser):
    big = json.dumps([entry_1_23(f"p{i}.ns") for i in range(100_000)]).encode()
    await parser.parse_syncz(b"[]")
    child = parser._process
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await parser.parse_syncz(big)
    assert child is not None and not child.is_alive()  # not left parsing a body nobody waits for
    assert len(await parser.parse_syncz(json.dumps(DOCUMENT[:3]).encode())) == 3
    assert parser.started == 2


async def test_close_stops_the_child():
    parser = ParserProcess()
    await parser.parse_syncz(b"[]")
    child = parser._process
    await parser.close()
    assert child is not None and not child.is_alive()


async def test_the_child_gives_the_memory_of_a_large_parse_back(parser):
    """A 48 MB syncz takes ~140 MiB more to decode; once the answer is sent, the child is back within 40 MiB of
    its idle size: it keeps neither the body nor the decoded document."""
    await parser.parse_syncz(b"[]")
    assert parser._process is not None and parser._process.pid is not None
    idle = tree_memory_mib(parser._process.pid)[0]
    body = json.dumps([entry_1_23(f"web-{i}.team-{i % 50}") for i in range(60_000)]).encode()
    assert len(await parser.parse_syncz(body)) == 60_000
    pid = parser._process.pid
    wait_for(lambda: tree_memory_mib(pid)[0] - idle < 40, 5, "the child's memory given back after the parse")


async def test_metrics_are_parsed_in_the_child_like_parse_metrics(parser):
    assert await parser.parse_metrics(METRICS.encode()) == parse_metrics(METRICS)
    # syncz and metrics share the child, one after the other
    assert adopt(await parser.parse_syncz(json.dumps(DOCUMENT).encode())) == parse_syncz(DOCUMENT)
    assert await parser.parse_metrics(b"") == parse_metrics("")
    assert parser.started == 1


@pytest.mark.parametrize("text", ["pilot_xds{a= 1\n", '# TYPE x gauge\nx{le="1"} one\n', "<html>nope</html>"])
async def test_metrics_that_are_not_prometheus_text_are_the_same_value_error(parser, text):
    with pytest.raises(ValueError, match=r".") as here:
        parse_metrics(text)
    with pytest.raises(ValueError, match=r".") as there:
        await parser.parse_metrics(text.encode())
    assert type(there.value) is ValueError and str(there.value) == str(here.value)
    assert parser.started == 1


async def test_a_metrics_parse_whose_time_is_up_stops_the_child(parser):
    """prometheus_client's parser is pure Python: ~20 s for 52 MB. In a thread nothing could stop it."""
    lines = "".join(f'pilot_xds{{version="{i}",type="eds"}} {i}\n' for i in range(300_000))
    big = ("# TYPE pilot_xds gauge\n" + lines).encode()
    await parser.parse_metrics(b"")
    child = parser._process
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await parser.parse_metrics(big)
    assert child is not None and not child.is_alive()
    assert await parser.parse_metrics(METRICS.encode()) == parse_metrics(METRICS)
    assert parser.started == 2


def test_a_parser_bug_fails_that_parse_as_internal_and_the_child_goes_on(monkeypatch):
    import exporter.sources.istiod.parser_process as pp

    def broken(text: str) -> None:
        raise KeyError("samples")

    monkeypatch.setattr(pp, "parse_metrics", broken)
    answer, rows = _answer("metrics", METRICS.encode())
    assert answer == ("bug", "KeyError: 'samples'") and rows == ()
    with pytest.raises(SourceError, match="the istiod parser failed: KeyError") as err:
        _result(*answer)
    assert err.value.reason == "internal"
    assert _result("ok", 3) == 3
