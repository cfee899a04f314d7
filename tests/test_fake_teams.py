"""The fake Teams (tests/fakes/teams_api.py) behaves as the services it stands for, so the channel's tests can trust
it: the identity hosts answer only through their proxy and over TLS the process trusts, tokens are checked, and the
Bot Connector refuses, throttles and records as Teams does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import jwt
import pytest
import requests

from tests.fakes.teams_api import APP_ID, APP_PASSWORD, BOT_FRAMEWORK, TENANT_ID, FakeTeams, fake_teams, signing_key


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[FakeTeams]:
    async with fake_teams(tmp_path) as fake:
        yield fake


async def test_the_bot_frameworks_keys_are_published_through_the_proxy_over_trusted_tls(teams: FakeTeams) -> None:
    client = jwt.PyJWKClient("https://login.botframework.com/v1/.well-known/keys")  # as the SDK asks for them
    token = teams.identity.mint(service_url=teams.connector.url)
    key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=APP_ID)
    assert claims["iss"] == BOT_FRAMEWORK and claims["serviceurl"] == teams.connector.url
    keys = (await asyncio.to_thread(client.fetch_data))["keys"]
    assert keys[0]["endorsements"] == ["msteams"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(teams.identity.mint(key=signing_key("forger")), key, algorithms=["RS256"], audience=APP_ID)


async def test_no_other_host_is_answered_and_plain_trust_fails(teams: FakeTeams, tmp_path: Path) -> None:
    def get(url: str, **options: object) -> int:
        return requests.get(url, timeout=5, **options).status_code  # type: ignore[arg-type]

    with pytest.raises(requests.exceptions.ProxyError):
        await asyncio.to_thread(get, "https://example.org/")
    with pytest.raises(requests.exceptions.SSLError):  # without the test authority, the certificate is not trusted
        await asyncio.to_thread(get, f"https://login.microsoftonline.com/{TENANT_ID}/v2.0/.well-known/"
                                     "openid-configuration", verify=requests.certs.where())


async def test_entra_gives_the_bot_a_token_only_for_its_secret(teams: FakeTeams) -> None:
    url = f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token"

    def ask(secret: str) -> requests.Response:
        return requests.post(url, data={"grant_type": "client_credentials", "client_id": APP_ID,
                                        "client_secret": secret, "scope": f"{BOT_FRAMEWORK}/.default"}, timeout=5)

    refused = await asyncio.to_thread(ask, "wrong")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    given = await asyncio.to_thread(ask, APP_PASSWORD)
    assert given.status_code == 200 and given.json()["access_token"] in teams.identity.issued


async def test_the_connector_checks_tokens_records_throttles_and_refuses(teams: FakeTeams) -> None:
    url = teams.connector.url
    good = {"Authorization": f"Bearer {teams.identity.bot_token()}"}
    conversation = "a:1test"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}v3/conversations/{conversation}/activities", json={"text": "hi"},
                             headers={"Authorization": f"Bearer {teams.identity.mint()}"}) as response:
            assert response.status == 401, "a token Teams sends a bot is not one the bot may call with"
        async with http.post(f"{url}v3/conversations/{conversation}/activities", json={"text": "hi"},
                             headers=good) as response:
            assert response.status == 201
            posted = (await response.json())["id"]
        teams.connector.fail_next(429, retry_after=2)
        async with http.put(f"{url}v3/conversations/{conversation}/activities/{posted}", json={"text": "changed"},
                            headers=good) as response:
            assert response.status == 429 and response.headers["Retry-After"] == "2"
        async with http.put(f"{url}v3/conversations/{conversation}/activities/{posted}", json={"text": "changed"},
                            headers=good) as response:
            assert response.status == 200
        teams.connector.gone.add(conversation)
        async with http.post(f"{url}v3/conversations/{conversation}/activities", json={"text": "again"},
                             headers=good) as response:
            assert response.status == 403
        async with http.post(f"{url}v3/conversations", headers=good, json={
                "isGroup": False, "members": [{"id": "29:someone"}], "tenantId": TENANT_ID}) as response:
            assert response.status == 201 and (await response.json())["id"].startswith("a:")
    (message,) = teams.connector.posted(conversation)
    assert message.text == "changed" and message.updates == 1
    assert [c.status for c in teams.connector.calls] == [401, 201, 429, 200, 403, 201]
    assert (await teams.connector.next_message(conversation)).id == posted


async def test_a_teams_roster_comes_in_pages_with_a_continuation_token(teams: FakeTeams) -> None:
    team = "19:roster@thread.tacv2"
    people = [teams.person(name=f"Pat Member{n}") for n in range(5)]
    teams.connector.rosters[team] = [p.member() for p in people]
    teams.connector.page_limit = 2
    url = f"{teams.connector.url}v3/conversations/{team}/pagedmembers"
    good = {"Authorization": f"Bearer {teams.identity.bot_token()}"}
    seen: list[str] = []
    tokens: list[str] = []
    async with aiohttp.ClientSession() as http:
        params = {"pageSize": "500"}
        while True:
            async with http.get(url, params=params, headers=good) as response:
                assert response.status == 200
                page = await response.json()
            seen.extend(m["aadObjectId"] for m in page["members"])
            if "continuationToken" not in page:
                break
            tokens.append(page["continuationToken"])
            params["continuationToken"] = page["continuationToken"]
        async with http.get(url, headers={"Authorization": f"Bearer {teams.identity.mint()}"}) as response:
            assert response.status == 401
        async with http.get(f"{teams.connector.url}v3/conversations/19:other@thread.tacv2/pagedmembers",
                            headers=good) as response:
            assert response.status == 404
        teams.connector.fail_next(403)
        async with http.get(url, headers=good) as response:
            assert response.status == 403
    assert seen == [p.aad for p in people] and len(tokens) == 2
    assert {"id", "aadObjectId", "name", "userPrincipalName", "tenantId"} <= set(people[0].member())


async def test_people_post_signed_activities(teams: FakeTeams) -> None:
    received: list[tuple[str, dict[str, object]]] = []

    async def bot(request: aiohttp.web.Request) -> aiohttp.web.Response:
        received.append((request.headers["Authorization"], await request.json()))
        return aiohttp.web.Response(status=202)

    app = aiohttp.web.Application()
    app.router.add_post("/api/messages", bot)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    teams.bot_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/api/messages"  # type: ignore[union-attr]
    try:
        person = teams.person(name="Ada")
        assert await person.say("hello") == 202
        assert await person.send(person.message("hi", id="same-id")) == 202
        assert await person.send(person.message("hi", id="same-id")) == 202
    finally:
        await runner.cleanup()
    (auth, first), _, (_, again) = received
    claims = jwt.decode(auth.split()[1], signing_key().public_key(), algorithms=["RS256"], audience=APP_ID)
    assert claims["serviceurl"] == teams.connector.url
    assert first["type"] == "message" and first["from"]["id"] == person.user  # type: ignore[index]
    assert first["conversation"]["conversationType"] == "personal"  # type: ignore[index]
    assert again["id"] == "same-id", "a redelivery keeps its id"
