"""What one GraphQL request may cost: list lookups batched per field for all parents (not one
query per stage per alias), and a cost limit counting list sizes, checked before execution."""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLObjectType,
    get_introspection_query,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)

from hub.graphql import SIZES, cost
from hub.graphql.schema import build
from tests.conftest import Hub
from tests.gql import data, refused
from tests.gql_crowd import aliased_foyer, counting_statements, crowd

BATCHED_TABLES = {
    "stages", "stage_access", "stage_media", "media_frames", "media_tags", "performances", "performance_events",
}


def _cost(aliases: int, stages: int, media: int = 3, performances: int = 3) -> int:
    """The documented rule for `aliased_foyer()`: per alias, foyer 1; per stage id, media,
    performances; per media item id; per performance id and eventCount."""
    return aliases * (1 + stages * 3 + stages * media + stages * performances * 2)


async def test_the_aliased_foyer_takes_one_query_per_field_not_per_stage(make_hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """25 aliases of the foyer over 30 stages ran 5300 statements (12 s on SQLite)."""
    hub = await make_hub(graphql_anonymous_max_cost=10_000)
    await crowd(hub, stages=30)
    await data(hub, "{ site { title } }")  # the list sizes for the cost estimate are read (and kept)
    with counting_statements(hub, monkeypatch) as statements:
        result = await data(hub, aliased_foyer(25))
    assert len(result) == 25 and all(len(stages) == 30 for stages in result.values())
    first = result["a0"][0]
    assert len(first["media"]) == 3 and [p["eventCount"] for p in first["performances"]] == [4, 4, 4]
    assert result["a24"] == result["a0"]
    assert set(statements) == BATCHED_TABLES and set(statements.values()) == {1}, statements


async def test_every_stage_media_and_performance_field_is_batched(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The statements of a request do not grow with the stages it lists, nor with its aliases."""
    hub.server.app[SIZES].max_age = 3600  # the list sizes are read once, by the first request
    await hub.user("root", "admin")
    await crowd(hub, stages=2, prefix="a")
    fields = "id owner { username } playerAccess { username } editorAccess { username } scenes { id } " \
             "media { id owner { username } stages { slug } } performances { id stage { slug } eventCount }"

    def query(aliases: int) -> str:
        listed = " ".join(f"l{i}: stages {{ {fields} }} f{i}: foyer {{ {fields} }}" for i in range(aliases))
        return "{ " + listed + ' one: stage(slug: "a-001") { id media { id } } p: performance(id: 1) { id eventCount } }'

    await data(hub, "{ site { title } }", user="root")
    with counting_statements(hub, monkeypatch) as few:
        assert len((await data(hub, query(1), user="root"))["l0"]) == 2
    await crowd(hub, stages=10, prefix="b")
    with counting_statements(hub, monkeypatch) as many:
        result = await data(hub, query(3), user="root")
    assert len(result["l2"]) == 12 and result["f2"] == result["l0"]
    assert result["l0"][0]["playerAccess"] == [{"username": "pat"}, {"username": "ann"}]
    assert result["l0"][0]["media"][0]["stages"] == [{"slug": "a-000"}]
    assert many == few, (few, many)
    # At most one per field: stages (and their access lists) for `stages`, `foyer`, `stage(slug)`,
    # `Media.stages` and `Performance.stage`; users for the token, the stages' people, media owners.
    assert max(many.values()) <= 5 and many["users"] <= 3, many


async def test_a_query_over_the_cost_limit_is_refused_before_it_runs(make_hub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = await make_hub(graphql_max_cost=5000)
    await crowd(hub, stages=30)
    await data(hub, "{ site { title } }")
    for user, limit in ((None, 2000), ("pat", 5000)):  # HUB_GRAPHQL_ANONYMOUS_MAX_COST, HUB_GRAPHQL_MAX_COST
        with counting_statements(hub, monkeypatch) as statements:
            error = await refused(hub, "too_complex", aliased_foyer(25), user=user)
        assert error["extensions"] == {"code": "too_complex", "cost": _cost(25, 30), "maxCost": limit}
        assert f"cost {_cost(25, 30)}" in error["message"] and f"limit of {limit}" in error["message"]
        # Refused before anything ran: only pat's login and token check touch the database.
        assert set(statements) <= {"users", "refresh_families", "revoked_tokens"}, statements
    assert len((await data(hub, aliased_foyer(5)))["a4"]) == 30  # 5 x 361 = 1805 runs
    assert len((await data(hub, aliased_foyer(13), user="pat"))["a12"]) == 30  # 13 x 361 = 4693


async def test_the_cost_counts_real_list_sizes(make_hub) -> None:
    hub = await make_hub(graphql_anonymous_max_cost=1000)
    hub.server.app[SIZES].max_age = 0  # read the sizes at every request
    await crowd(hub, stages=3)
    assert len((await data(hub, aliased_foyer(25)))["a24"]) == 3  # costs 25 x 37 = 925
    await crowd(hub, stages=1, prefix="more")
    error = await refused(hub, "too_complex", aliased_foyer(25))
    assert error["extensions"]["cost"] == _cost(25, 4)


async def test_graphiql_introspection_passes_and_many_copies_of_the_schema_do_not(hub: Hub) -> None:
    """GraphiQL's query runs, anonymously too (a request that only introspects may cost
    HUB_GRAPHQL_MAX_COST); aliases of the whole schema multiply it."""
    assert (await data(hub, get_introspection_query(descriptions=True)))["__schema"]["types"]
    many = "{ " + " ".join(f"a{i}: __schema {{ types {{ name fields {{ name type {{ name }} }} }} }}" for i in range(40)) + " }"
    assert "would cost" in (await refused(hub, "too_complex", many))["message"]


def test_every_list_of_objects_in_the_schema_has_a_size() -> None:
    """A list field added without a size would be guessed (`UNKNOWN_LIST` items per parent)."""
    schema = build()
    sizes = {**cost.schema_sizes(schema), **cost.data_sizes({})}
    lists = {
        (type_name, field_name)
        for type_name, kind in schema.type_map.items() if isinstance(kind, GraphQLObjectType)
        for field_name, field in kind.fields.items()
        if is_list_type(get_nullable_type(field.type)) and not is_leaf_type(get_named_type(field.type))
    }
    assert lists <= set(sizes), lists - set(sizes)


async def test_a_store_that_cannot_count_makes_queries_unavailable_not_failures(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> dict[str, int]:
        raise ConnectionError("database is gone")

    monkeypatch.setattr(hub.store, "list_sizes", broken)
    assert "try again" in (await refused(hub, "unavailable", "{ foyer { id } }"))["message"]
    assert not [r for r in caplog.records if r.exc_info], caplog.records
