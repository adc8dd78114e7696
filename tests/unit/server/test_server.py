import base64
import gzip

import bcrypt
import pytest

from exporter.app import Exporter
from exporter.server.refresher import status_page_of
from exporter.server.routes import make_app
from exporter.server.webconfig import WebConfig
from tests.unit.helpers import settings


class InProcess:
    """What the routes serve, from an exporter in this process rather than the refresher process."""

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter
        self.problem = ""
        self.published = True

    @property
    def settings(self):
        return self.exporter.settings

    def unhealthy(self) -> str:
        return self.problem

    def metrics(self):
        return self.exporter.rendered if self.published else None

    def waiting(self):
        return self.exporter.waiting()

    async def status_page(self) -> str:
        return status_page_of(self.exporter)()


@pytest.fixture
def exporter():
    return Exporter(settings())


async def client_for(aiohttp_client, exporter, web_config=None, served=None):
    return await aiohttp_client(make_app(served or InProcess(exporter), web_config or WebConfig()))


async def test_metrics_formats(aiohttp_client, exporter):
    client = await client_for(aiohttp_client, exporter)
    plain = await client.get("/metrics")
    assert plain.status == 200
    assert plain.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await plain.text()
    assert "meshhealth_build_info" in text and "# EOF" not in text

    om = await client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await om.text()).endswith("# EOF\n")

    gz = await client.get("/metrics", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await gz.read()).decode() == text

    refused = await client.get("/metrics", headers={"Accept-Encoding": "gzip;q=0"}, auto_decompress=False)
    assert "Content-Encoding" not in refused.headers


async def test_scrape_serves_the_stored_body(aiohttp_client, exporter):
    client = await client_for(aiohttp_client, exporter)
    exporter.rendered.text = b"# rendered once\n"
    assert await (await client.get("/metrics")).text() == "# rendered once\n"


async def test_readyz_waits_for_every_source(aiohttp_client, exporter):
    client = await client_for(aiohttp_client, exporter)
    not_ready = await client.get("/readyz")
    assert not_ready.status == 503 and "kubernetes" in await not_ready.text()
    exporter.states[0].attempted = True
    waiting = await client.get("/readyz")
    assert waiting.status == 503 and "webhook_tls" in await waiting.text()
    for state in exporter.states:
        state.attempted = True
    assert (await client.get("/readyz")).status == 200
    assert (await client.get("/healthz")).status == 200


async def test_status_page_lists_sources_and_checks(aiohttp_client, exporter):
    client = await client_for(aiohttp_client, exporter)
    page = await (await client.get("/")).text()
    assert "waiting for first refresh" in page
    exporter.update()
    page = await (await client.get("/")).text()
    assert "CP01" in page and "NS01" in page and "docs/runbooks.md#cp01" in page


async def test_every_endpoint_answers_503_with_the_reason_once_the_refresher_is_silent(aiohttp_client, exporter):
    served = InProcess(exporter)
    for state in exporter.states:
        state.attempted = True
    client = await client_for(aiohttp_client, exporter, served=served)
    assert [(await client.get(path)).status for path in ("/metrics", "/healthz", "/readyz", "/")] == [200] * 4
    served.problem = "the refresher process has sent nothing for 31s (limit 30s)"
    for path in ("/metrics", "/healthz", "/readyz", "/"):
        answer = await client.get(path)
        assert answer.status == 503 and await answer.text() == served.problem + "\n", path


async def test_metrics_answer_503_until_the_first_state_arrives(aiohttp_client, exporter):
    served = InProcess(exporter)
    served.published = False
    client = await client_for(aiohttp_client, exporter, served=served)
    first = await client.get("/metrics")
    assert first.status == 503 and "no metrics yet" in await first.text()
    assert (await client.get("/healthz")).status == 200  # alive: starting, not hung
    served.published = True
    assert (await client.get("/metrics")).status == 200


async def test_a_status_page_that_takes_too_long_is_a_503(aiohttp_client, exporter):
    class Slow(InProcess):
        async def status_page(self) -> str:
            raise TimeoutError

    client = await client_for(aiohttp_client, exporter, served=Slow(exporter))
    answer = await client.get("/")
    assert answer.status == 503 and "took too long" in await answer.text()


async def test_basic_auth_and_headers(aiohttp_client, exporter):
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    config = WebConfig.model_validate(
        {"basic_auth_users": {"prom": hashed}, "http_server_config": {"headers": {"X-Frame-Options": "deny"}}}
    )
    client = await client_for(aiohttp_client, exporter, config)
    denied = await client.get("/metrics")
    assert denied.status == 401 and "Basic" in denied.headers["WWW-Authenticate"]
    wrong = base64.b64encode(b"prom:nope").decode()
    assert (await client.get("/metrics", headers={"Authorization": f"Basic {wrong}"})).status == 401
    good = base64.b64encode(b"prom:s3cret").decode()
    for _ in range(2):  # second time from the cache
        ok = await client.get("/metrics", headers={"Authorization": f"Basic {good}"})
        assert ok.status == 200 and ok.headers["X-Frame-Options"] == "deny"


async def test_unknown_user_costs_a_bcrypt_check_like_a_known_one(monkeypatch):
    from exporter.server import webconfig

    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    auth = webconfig.BasicAuth({"prom": hashed})
    calls = []
    real = bcrypt.checkpw
    monkeypatch.setattr(webconfig.bcrypt, "checkpw", lambda pw, h: calls.append(h) or real(pw, h))
    unknown = "Basic " + base64.b64encode(b"mallory:s3cret").decode()
    wrong = "Basic " + base64.b64encode(b"prom:guess").decode()
    assert not await auth.check(unknown) and not await auth.check(wrong)
    assert len(calls) == 2 and calls[0].startswith(b"$2b$04$")  # the decoy has the configured cost
