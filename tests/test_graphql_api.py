"""The GraphQL endpoint itself: explorer page and its assets, cost limits, tokens and bodies."""

from __future__ import annotations

import re

import aiohttp
from graphql import get_introspection_query

from tests.conftest import Hub
from tests.gql import data, gql, refused


async def test_explorer_page_loads_with_its_vendor_assets(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/graphql") as response:
            assert response.status == 200
            page = await response.text()
        assert '<script src="/static/js/graphiql.js">' in page and "<script>" not in page  # no inline script (CSP)
        async with http.get(f"{hub.url}/static/js/graphiql.js") as response:
            script = await response.text()
        assert "GraphiQL.createFetcher" in script and "upstage.auth" in script
        assets = re.findall(r'(?:src|href)="(/vendor/[^"]+)"', page)
        assert set(assets) == {"/vendor/graphiql.min.css", "/vendor/react.production.min.js",
                               "/vendor/react-dom.production.min.js", "/vendor/graphiql.min.js"}
        for asset in assets:
            async with http.get(hub.url + asset) as response:
                assert response.status == 200, asset
                assert len(await response.read()) > 1000


async def test_introspection_as_graphiql_sends_it_is_allowed(hub: Hub) -> None:
    schema = (await data(hub, get_introspection_query(descriptions=True)))["__schema"]
    assert {"Query", "Mutation", "Stage", "Media"} <= {t["name"] for t in schema["types"]}


async def test_deep_queries_are_refused_before_they_run(hub: Hub) -> None:
    deep = "{ foyer { media { stages { id } owner { username } } performances { stage { id } } } }"
    assert "foyer" in await data(hub, deep)
    nested = "{ __typename " + "".join(f"a{i}: foyer {{ " for i in range(9)) + "id" + " }" * 9 + " }"
    error = await refused(hub, "too_complex", nested)
    assert "deeper than 8" in error["message"]
    fragment = "query { foyer { ...F } } fragment F on Stage { owner { id } media { owner { id } stages { id } } }"
    assert "foyer" in await data(hub, fragment)


async def test_too_many_fields_or_too_long_a_query_is_refused(hub: Hub) -> None:
    wide = "{ " + " ".join(f"s{i}: site {{ title }}" for i in range(150)) + " }"
    assert "fields" in (await refused(hub, "too_complex", wide))["message"]
    long = "{ site { title } }" + " " * (16 * 1024)
    assert "longer than" in (await refused(hub, "too_complex", long))["message"]


async def test_request_body_and_shape(hub: Hub) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hub.url}/graphql", data=b"x" * (70 * 1024), headers={"Content-Type": "application/json"}) as r:
            assert r.status == 413 and (await r.json())["errors"][0]["extensions"]["code"] == "too_complex"
        async with http.post(f"{hub.url}/graphql", data=b"not json", headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400 and (await r.json())["errors"][0]["extensions"]["code"] == "bad_request"
        async with http.post(f"{hub.url}/graphql", json={"query": "{ foyer { id } }"}, headers={"Authorization": "Bearer nonsense"}) as r:
            assert (await r.json())["errors"][0]["extensions"]["code"] == "unauthenticated"
    assert (await refused(hub, "bad_request", "{ nosuchfield }"))["message"]
    assert (await refused(hub, "bad_request", "{ foyer { id "))["message"]
    result = await gql(hub, "query($id: ID!) { performance(id: $id) { id } }", {"id": "abc"})
    assert result["errors"][0]["extensions"] == {"code": "bad_request", "field": "id"}


async def test_an_unknown_stage_is_not_found(hub: Hub) -> None:
    await hub.user("helen")
    await refused(hub, "not_found", "mutation { sweepStage(stageId: 42) { id } }", user="helen")
    assert (await data(hub, '{ stage(slug: "nope") { id } }'))["stage"] is None
