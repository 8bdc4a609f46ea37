"""The data both servers hold: Region <- Customer <- Product <- Review, each link
MANY_TO_ONE, with the same rows, queries and expected answers on either side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Instances per class at scale 1; --scale multiplies every count.
BASE_COUNTS = {"Region": 10, "Customer": 1_000, "Product": 5_000, "Review": 10_000}
HOP_ROOTS = 1_000


@dataclass(frozen=True, slots=True)
class Kind:
    """One class: its SPICE names, its PostgreSQL table and how rows are made."""

    name: str  # SPICE class id
    table: str  # PostgreSQL table
    prefix: str  # instance ids are prefix + number
    strings: tuple[str, str]  # two string properties
    link: str | None  # the MANY_TO_ONE predicate (and FK column)
    target: str | None  # the class it points to
    inverse: str | None


KINDS = (
    Kind("Region", "region", "g", ("name", "code"), None, None, None),
    Kind("Customer", "customer", "c", ("name", "email"), "in_region", "Region", "customers"),
    Kind("Product", "product", "p", ("name", "title"), "owned_by", "Customer", "products"),
    Kind("Review", "review", "r", ("title", "body"), "about", "Product", "reviews"),
)  # fmt: skip
BY_NAME = {kind.name: kind for kind in KINDS}


def counts(scale: int) -> dict[str, int]:
    return {name: n * scale for name, n in BASE_COUNTS.items()}


def total(scale: int) -> int:
    return sum(counts(scale).values())


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _target(kind: Kind) -> Kind:
    if kind.target is None:
        raise ValueError(f"{kind.name} links to nothing")
    return BY_NAME[kind.target]


def key(kind: Kind) -> str:
    """The primary-key property of the SPICE class (the `id` column in PostgreSQL)."""
    return f"{kind.table}_id"


def target_of(kind: Kind, i: int, scale: int) -> str:
    """The id instance i of `kind` links to: consecutive instances point to
    consecutive targets, so every target is used."""
    target = _target(kind)
    return f"{target.prefix}{i % counts(scale)[target.name]}"


def value(kind: Kind, prop: str, i: int) -> str:
    return f"{kind.table} {prop} {i}"


def row(kind: Kind, i: int, scale: int) -> tuple[str, ...]:
    """id, the two strings, then the link if any: the PostgreSQL column order."""
    values = (f"{kind.prefix}{i}", *(value(kind, p, i) for p in kind.strings))
    return (*values, target_of(kind, i, scale)) if kind.link else values


def columns(kind: Kind) -> list[str]:
    return ["id", *kind.strings, *((kind.link,) if kind.link else ())]


def spice_input(kind: Kind, i: int, scale: int) -> dict[str, str]:
    """The GraphQL input of one instance in SPICE's bulk create mutation."""
    names = [_camel(key(kind)), *(_camel(p) for p in kind.strings)]
    if kind.link:
        names.append(_camel(kind.link))
    return dict(zip(names, row(kind, i, scale), strict=True))


def spice_class(kind: Kind) -> dict[str, Any]:
    """The ClassInput of `defineClass`."""
    props = [{"name": key(kind), "type": "string"}]
    props += [{"name": p, "type": "string"} for p in kind.strings]
    definition: dict[str, Any] = {"id": kind.name, "label": kind.name,
                                  "primaryKey": key(kind), "properties": props}  # fmt: skip
    if kind.link:
        definition["relationships"] = [{"predicate": kind.link, "target": kind.target,
                                        "cardinality": "MANY_TO_ONE",
                                        "inverse": {"predicate": kind.inverse}}]  # fmt: skip
    return definition


def ddl(kind: Kind) -> str:
    strings = ", ".join(f"{p} text" for p in kind.strings)
    return f"CREATE TABLE {kind.table} (id text PRIMARY KEY, {strings}" + (
        f", {kind.link} text)" if kind.link else ")"
    )


def constraints(kind: Kind) -> list[str]:
    """Foreign key and its index, added after COPY (as a bulk load does)."""
    if not kind.link:
        return []
    target = _target(kind).table
    return [
        f"ALTER TABLE {kind.table} ADD FOREIGN KEY ({kind.link}) REFERENCES {target} (id)",
        f"CREATE INDEX ON {kind.table} ({kind.link})",
    ]


# The 3-hop read, the same selection on both servers.
SPICE_HOPS = (
    f"{{ reviews(first: {HOP_ROOTS}) {{ edges {{ node {{ title about {{ name "
    "ownedBy { name inRegion { name } } } } } } }"
)
PEER_HOPS = (
    f"{{ allReviews(first: {HOP_ROOTS}) {{ nodes {{ title productByAbout {{ name "
    "customerByOwnedBy { name regionByInRegion { name } } } } } }"
)
SPICE_BY_ID = "query($id: ID!) { product(id: $id) { productId name title } }"
PEER_BY_ID = "query($id: String!) { productById(id: $id) { id name title } }"


def hop_roots(data: dict[str, Any], *, peer: bool) -> list[dict[str, Any]]:
    """The root objects of a 3-hop answer, as (title, about{name, owner{...}})."""
    if peer:
        return [
            {"title": n["title"], "product": n["productByAbout"]}
            for n in data["allReviews"]["nodes"]
        ]
    return [
        {"title": e["node"]["title"], "product": e["node"]["about"]}
        for e in data["reviews"]["edges"]
    ]


def check_hops(roots: list[dict[str, Any]], scale: int, *, peer: bool) -> str | None:
    """None if `roots` are HOP_ROOTS reviews with their product, owner and region
    as the data defines them; else what is wrong."""
    if len(roots) != HOP_ROOTS:
        return f"{len(roots)} roots, expected {HOP_ROOTS}"
    owner, region = (
        ("customerByOwnedBy", "regionByInRegion") if peer else ("ownedBy", "inRegion")
    )
    for root in roots:
        i = int(root["title"].rsplit(" ", 1)[1])
        p = int(target_of(BY_NAME["Review"], i, scale)[1:])
        c = int(target_of(BY_NAME["Product"], p, scale)[1:])
        g = int(target_of(BY_NAME["Customer"], c, scale)[1:])
        expected = {"name": value(BY_NAME["Product"], "name", p),
                    owner: {"name": value(BY_NAME["Customer"], "name", c),
                            region: {"name": value(BY_NAME["Region"], "name", g)}}}  # fmt: skip
        if root["product"] != expected:
            return f"review {i}: {root['product']!r}, expected {expected!r}"
    return None
