"""Plans, draws, frames and samples in the store, each change audited.

A draw goes through two states. ``commit`` computes the weights, blinds and seals the frame
(``blinding``), stores it and hashes its public form with the seed commitment: both can be
published before anyone knows the sample. ``reveal`` opens the commitment, draws from the stored
frame (whose public hash is checked again) and assigns inspectors. Nothing of a committed frame
changes afterwards. Draws of ``draw.ALGORITHM_V1`` (public π) are still verified internally, but
their frame and openings are no longer published.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Date, DateTime, bindparam, text

from credit_engine.grading.batch import HELD_ON  # each entity's grade held on a date
from credit_engine.records import KNOWN_AT, end_of_day
from credit_engine.sampling import blinding, draw, inspectors
from credit_engine.sampling.plan import Inspector, Plan
from credit_engine.sampling.policy import Terms, resolve
from credit_engine.sampling.weights import UNIT, Weights, compute_weights
from credit_engine.store.repository import Store, now_utc, stamp

#: Registration states of entities that no longer operate: never in scope.
CLOSED = ("注销", "吊销", "撤销", "迁出")


class DrawStateError(RuntimeError):
    """The draw is not in the state the operation needs (e.g. revealing a drawn draw)."""


@dataclass(frozen=True)
class StoredPlan:
    id: int
    plan: Plan
    policy_id: str
    rule_set_id: str
    created_by: str
    created_at: datetime


def terms_of(plan: Plan) -> Terms:
    return resolve(plan.policy_id, plan.as_of, cast(Mapping[str, float], plan.ratios), plan.key_area)


# ------------------------------------------------------------------------------------------ plans


def save_plan(conn: Connection, plan: Plan, actor: str, client: str | None = None) -> StoredPlan:
    """Validate the plan against its policy and rule set (ValueError naming the rule), store it."""
    terms = terms_of(plan)
    moment = now_utc()
    plan_id = conn.execute(
        text(
            "INSERT INTO inspection_plan (title, item, key_area, as_of, policy_id, rule_set_id, plan_json, created_by, "
            "created_at) VALUES (:title, :item, :key_area, :as_of, :policy, :rules, :body, :actor, :at) RETURNING id"
        ).bindparams(bindparam("as_of", type_=Date), bindparam("at", type_=DateTime)),
        {
            "title": plan.title,
            "item": plan.item,
            "key_area": plan.key_area,
            "as_of": plan.as_of,
            "policy": terms.policy.id,
            "rules": terms.rule_set.id,
            "body": plan.model_dump_json(),
            "actor": actor,
            "at": moment,
        },
    ).scalar_one()
    Store(conn).audit(
        moment,
        actor,
        "plan_create",
        f"plan:{plan_id}",
        {"title": plan.title, "policy": terms.policy.id, "as_of": plan.as_of.isoformat()},
        client,
    )
    return StoredPlan(plan_id, plan, terms.policy.id, terms.rule_set.id, actor, moment)


def _stored(row) -> StoredPlan:
    return StoredPlan(
        row.id, Plan.model_validate_json(row.plan_json), row.policy_id, row.rule_set_id, row.created_by, row.created_at
    )


def get_plan(conn: Connection, plan_id: int) -> StoredPlan:
    row = conn.execute(text("SELECT * FROM inspection_plan WHERE id = :i"), {"i": plan_id}).first()
    if row is None:
        raise LookupError(f"no plan {plan_id}")
    return _stored(row)


def list_plans(conn: Connection, limit: int = 50, offset: int = 0, published_only: bool = False) -> list[StoredPlan]:
    """Newest first; ``published_only``: plans with at least one committed draw."""
    where = "WHERE EXISTS (SELECT 1 FROM inspection_draw d WHERE d.plan_id = p.id)" if published_only else ""
    rows = conn.execute(
        text(f"SELECT p.* FROM inspection_plan p {where} ORDER BY p.id DESC LIMIT :n OFFSET :o"),
        {"n": limit, "o": offset},
    ).all()
    return [_stored(r) for r in rows]


# -------------------------------------------------------------------------------------- inspectors


def upsert_inspectors(conn: Connection, pool: Sequence[Inspector], actor: str, client: str | None = None) -> int:
    """Add inspectors or replace them by code (a departed inspector is kept, ``active = false``)."""
    moment = now_utc()
    frame = pd.DataFrame(
        [
            {
                "code": i.code,
                "name": i.name,
                "department": i.department,
                "authority": i.authority,
                "conflicts_json": json.dumps(sorted(i.conflicts)),
                "active": i.active,
                "updated_at": stamp(moment),
            }
            for i in pool
        ]
    )
    if frame.empty:
        return 0
    frame = frame.drop_duplicates("code", keep="last")
    sets = ", ".join(f"{c} = excluded.{c}" for c in frame.columns if c != "code")
    Store(conn).insert_frame("inspector", frame, f"ON CONFLICT (code) DO UPDATE SET {sets}")
    Store(conn).audit(moment, actor, "inspectors_upsert", "inspector", {"codes": frame["code"].tolist()}, client)
    return len(frame)


def inspector_pool(conn: Connection, departments: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Active inspectors (of ``departments`` if given), in code order; conflicts as sets."""
    pool = pd.read_sql_query(
        text("SELECT code, name, department, authority, conflicts_json, active FROM inspector ORDER BY code"), conn
    )
    if departments is not None:
        pool = pool[pool["department"].isin(departments) & pool["active"].astype(bool)]
    pool["conflicts"] = [frozenset(json.loads(c)) for c in pool["conflicts_json"]]
    return pool.drop(columns="conflicts_json").reset_index(drop=True)


# ---------------------------------------------------------------------------------------- weights


def population(conn: Connection, plan: Plan) -> pd.DataFrame:
    """Operating registered entities in scope, sorted by USCC: name, region, industry, type,
    registration authority, the grade held on ``as_of`` and the last inspection known by then
    (results known at the end of that day, or a draw of a plan dated on or before it)."""
    where, params = (
        ["e.registered", "(e.reg_status IS NULL OR e.reg_status NOT IN :closed)"],
        {"d": plan.as_of, "closed": CLOSED, "cut": end_of_day(plan.as_of)},
    )
    scope = plan.scope
    for column, prefixes in (("region_code", scope.regions), ("industry_code", scope.industries)):
        if prefixes:
            where.append("(" + " OR ".join(f"e.{column} LIKE :{column}{i}" for i in range(len(prefixes))) + ")")
            params |= {f"{column}{i}": f"{p}%" for i, p in enumerate(prefixes)}
    if scope.entity_types:
        where.append("e.entity_type IN :types")
        params["types"] = scope.entity_types
    typed = [bindparam("d", type_=Date), bindparam("closed", expanding=True)]
    if scope.entity_types:
        typed.append(bindparam("types", expanding=True))
    entities = pd.read_sql_query(
        text(
            f"SELECT e.uscc, e.name, e.region_code, e.industry_code, e.entity_type, e.authority, g.grade "
            f"FROM entity e LEFT JOIN ({HELD_ON}) g ON g.uscc = e.uscc WHERE {' AND '.join(where)}"
        ).bindparams(*typed),
        conn,
        params={k: v for k, v in params.items() if k != "cut"},
    )
    inspected = pd.read_sql_query(
        text(
            f"SELECT subject_uscc AS uscc, MAX(event_date) AS last FROM fact WHERE kind = 'inspection' "
            f"AND subject_uscc IS NOT NULL AND event_date <= :d AND status <> 'withdrawn' AND {KNOWN_AT} "
            "GROUP BY subject_uscc UNION ALL "
            "SELECT s.uscc, MAX(p.as_of) FROM inspection_sample s JOIN inspection_draw d ON d.id = s.draw_id "
            "JOIN inspection_plan p ON p.id = d.plan_id WHERE d.status = 'drawn' AND p.as_of <= :d GROUP BY s.uscc"
        ).bindparams(bindparam("d", type_=Date), bindparam("cut", type_=DateTime)),
        conn,
        params={"d": params["d"], "cut": params["cut"]},
    )
    inspected["last"] = pd.to_datetime(inspected["last"]).astype("datetime64[s]")
    last = inspected.groupby("uscc")["last"].max()
    entities["last_inspected"] = last.reindex(entities["uscc"]).to_numpy(dtype="datetime64[s]")
    return entities.sort_values("uscc", kind="stable").reset_index(drop=True)


def weights_of(conn: Connection, stored: StoredPlan) -> tuple[Weights, pd.DataFrame]:
    """The plan's weights now, with the population they were computed on (names, regions …)."""
    people = population(conn, stored.plan)
    return compute_weights(people, terms_of(stored.plan), stored.plan), people


# ------------------------------------------------------------------------------------------ draws


def commit(
    conn: Connection, plan_id: int, actor: str, client: str | None = None, commitment: str | None = None
) -> dict:
    """Freeze the frame and publish its hash with the seed commitment.

    ``commitment`` given: the caller holds seed and salt and brings them to ``reveal``;
    otherwise the service makes both and keeps them secret until ``reveal``."""
    stored = get_plan(conn, plan_id)
    weights, _ = weights_of(conn, stored)
    key = blinding.new_key()
    frame = weights.frame
    usccs = frame["uscc"].to_numpy(dtype=str)
    tokens = blinding.tokens(usccs, blinding.openings(key, usccs))
    data = draw.public_frame(tokens, blinding.seals(blinding.nonces(key, usccs), frame["pi_units"].to_numpy()))
    if commitment is None:
        seed, salt, holder = secrets.token_hex(16), secrets.token_hex(16), "service"
        commitment = draw.commitment(seed, salt)
    else:
        seed, salt, holder = None, None, "client"
    moment = now_utc()
    draw_id = conn.execute(
        text(
            "INSERT INTO inspection_draw (plan_id, status, algorithm, numpy_version, frame_hash, frame_size, sample_size, "
            "commitment, seed_holder, seed, salt, blinding_key, summary_json, committed_by, committed_at) VALUES "
            "(:plan, 'committed', :algorithm, :numpy, :hash, :size, :n, :commitment, :holder, :seed, :salt, :key, "
            ":summary, :actor, :at) RETURNING id"
        ).bindparams(bindparam("at", type_=DateTime)),
        {
            "plan": plan_id,
            "algorithm": draw.ALGORITHM,
            "numpy": np.__version__,
            "hash": draw.sha256(data),
            "size": len(frame),
            "n": weights.sample_size,
            "commitment": commitment,
            "holder": holder,
            "seed": seed,
            "salt": salt,
            "key": key,
            "summary": json.dumps(weights.summary()),
            "actor": actor,
            "at": moment,
        },
    ).scalar_one()
    rows = pd.DataFrame(
        {
            "draw_id": draw_id,
            "uscc": usccs,
            "token": tokens,
            "grade": frame["grade"],
            "sampled_as": frame["sampled_as"],
            "reason": frame["reason"],
            "pi_units": frame["pi_units"],
            "last_inspected": frame["last_inspected"],
        }
    )
    Store(conn).insert_frame("inspection_frame", rows)
    Store(conn).audit(
        moment,
        actor,
        "draw_commit",
        f"draw:{draw_id}",
        {
            "plan": plan_id,
            "frame_hash": draw.sha256(data),
            "commitment": commitment,
            "seed_holder": holder,
            "frame_size": len(frame),
            "sample_size": weights.sample_size,
        },
        client,
    )
    return get_draw(conn, draw_id)


def get_draw(conn: Connection, draw_id: int) -> dict:
    """The draw row (secrets included: callers choose what to show)."""
    row = conn.execute(text("SELECT * FROM inspection_draw WHERE id = :i"), {"i": draw_id}).mappings().first()
    if row is None:
        raise LookupError(f"no draw {draw_id}")
    return dict(row)


def list_draws(conn: Connection, plan_id: int) -> list[dict]:
    rows = conn.execute(text("SELECT * FROM inspection_draw WHERE plan_id = :p ORDER BY id"), {"p": plan_id})
    return [dict(r) for r in rows.mappings()]


def stored_frame(conn: Connection, draw_id: int) -> pd.DataFrame:
    """The frame rows of a draw in canonical (token) order, with each entity's authority."""
    frame = pd.read_sql_query(
        text(
            "SELECT f.token, f.uscc, f.grade, f.sampled_as, f.reason, f.pi_units, f.last_inspected, e.name, e.authority "
            "FROM inspection_frame f LEFT JOIN entity e ON e.uscc = f.uscc WHERE f.draw_id = :i"
        ),
        conn,
        params={"i": draw_id},
    )
    return frame.sort_values("token", kind="stable").reset_index(drop=True)


def frame_bytes(conn: Connection, draw_id: int) -> bytes:
    """The published frame of a draw, exactly the bytes its hash was taken of: (token, seal), or
    for a ``v1`` draw (token, π)."""
    row = get_draw(conn, draw_id)
    frame = stored_frame(conn, draw_id)
    if row["algorithm"] == draw.ALGORITHM_V1:
        return draw.canonical_frame(frame["token"].to_numpy(dtype="S"), frame["pi_units"].to_numpy(dtype=np.int64))
    nonced = blinding.nonces(row["blinding_key"], frame["uscc"].to_numpy(dtype=str))
    return draw.public_frame(frame["token"].to_numpy(dtype=str), blinding.seals(nonced, frame["pi_units"].to_numpy()))


def audit_frame(conn: Connection, draw_id: int) -> pd.DataFrame:
    """Every entity of a draw's frame with what re-runs it: opening, nonce, π (and class and why),
    in the order the draw runs over them (by nonce). For the auditor only: it holds every class."""
    row = get_draw(conn, draw_id)
    frame = stored_frame(conn, draw_id)
    usccs = frame["uscc"].to_numpy(dtype=str)
    frame = frame.assign(
        opening=blinding.openings(row["blinding_key"], usccs), nonce=blinding.nonces(row["blinding_key"], usccs)
    )
    return frame.sort_values("nonce", kind="stable").reset_index(drop=True)


def _drawn_positions(conn: Connection, row: dict, frame: pd.DataFrame, seed: str, salt: str) -> pd.DataFrame:
    """The frame rows the revealed seed draws, in draw order (v2: over the frame in nonce order)."""
    if row["algorithm"] == draw.ALGORITHM_V1:
        entity_rng, _ = draw.streams(seed, salt, row["frame_hash"])
        return frame.iloc[draw.systematic_pps(frame["pi_units"].to_numpy(dtype=np.int64), entity_rng)]
    ordered = audit_frame(conn, row["id"])
    entity_rng, _ = draw.streams(seed, salt, row["frame_hash"])
    return ordered.iloc[draw.systematic_pps(ordered["pi_units"].to_numpy(dtype=np.int64), entity_rng)]


def reveal(
    conn: Connection,
    draw_id: int,
    actor: str,
    client: str | None = None,
    seed: str | None = None,
    salt: str | None = None,
) -> dict:
    """Open the commitment, draw, assign inspectors, store the sample (see the module docstring)."""
    row = get_draw(conn, draw_id)
    if row["status"] != "committed":
        raise DrawStateError(f"draw {draw_id} is {row['status']}: only a committed draw can be revealed")
    if row["seed_holder"] == "client":
        if seed is None or salt is None:
            raise ValueError(f"draw {draw_id} was committed with the caller's seed: give seed and salt")
        if draw.commitment(seed, salt) != row["commitment"]:
            raise ValueError("seed and salt do not open the commitment published for this draw")
    elif seed is not None or salt is not None:
        raise ValueError(f"draw {draw_id} has a seed held by the service: reveal it without one")
    else:
        seed, salt = row["seed"], row["salt"]
    frame = stored_frame(conn, draw_id)
    if draw.sha256(frame_bytes(conn, draw_id)) != row["frame_hash"]:
        raise DrawStateError(f"the stored frame of draw {draw_id} no longer has its published hash")
    _, inspector_rng = draw.streams(seed, salt, row["frame_hash"])
    drawn = _drawn_positions(conn, row, frame, seed, salt)
    plan = get_plan(conn, row["plan_id"]).plan
    assigned = inspectors.assign(
        drawn,
        inspector_pool(conn, plan.departments),
        plan.inspectors_per_entity,
        plan.cross_assignment,
        inspector_rng,
        last_inspectors(conn, drawn["uscc"].tolist()),
    )
    moment = now_utc()
    sample = pd.DataFrame(
        {
            "draw_id": draw_id,
            "draw_order": np.arange(1, len(drawn) + 1),
            "uscc": drawn["uscc"].to_numpy(),
            "opening": blinding.openings(row["blinding_key"], drawn["uscc"].to_numpy(dtype=str)),
            "pi_units": drawn["pi_units"].to_numpy(),
            "inspectors_json": [json.dumps(a) for a in assigned],
        }
    )
    Store(conn).insert_frame("inspection_sample", sample)
    conn.execute(
        text(
            "UPDATE inspection_draw SET status = 'drawn', seed = :s, salt = :t, drawn_by = :a, "
            "drawn_at = :at WHERE id = :i"
        ).bindparams(bindparam("at", type_=DateTime)),
        {"s": seed, "t": salt, "a": actor, "at": moment, "i": draw_id},
    )
    Store(conn).audit(
        moment,
        actor,
        "draw_reveal",
        f"draw:{draw_id}",
        {"seed": seed, "salt": salt, "sample_size": len(sample)},
        client,
    )
    return get_draw(conn, draw_id)


def last_inspectors(conn: Connection, usccs: list[str]) -> dict[str, list[str]]:
    """Inspectors of each entity's latest drawn inspection (recused from the next one)."""
    if not usccs:
        return {}
    rows = conn.execute(
        text(
            "SELECT uscc, inspectors_json FROM (SELECT s.uscc, s.inspectors_json, ROW_NUMBER() OVER "
            "(PARTITION BY s.uscc ORDER BY d.drawn_at DESC, s.id DESC) AS r FROM inspection_sample s "
            "JOIN inspection_draw d ON d.id = s.draw_id WHERE s.uscc IN :u) t WHERE r = 1"
        ).bindparams(bindparam("u", expanding=True)),
        {"u": usccs},
    ).all()
    return {uscc: json.loads(codes) for uscc, codes in rows}


def sample_of(conn: Connection, draw_id: int) -> pd.DataFrame:
    """Drawn entities in draw order: uscc, name, opening, π units, inspectors (codes), and the
    nonce that, with opening and π, is the entity's receipt (internal: it tells π)."""
    sample = pd.read_sql_query(
        text(
            "SELECT s.draw_order, s.uscc, e.name, s.opening, s.pi_units, s.inspectors_json FROM inspection_sample s "
            "LEFT JOIN entity e ON e.uscc = s.uscc WHERE s.draw_id = :i ORDER BY s.draw_order"
        ),
        conn,
        params={"i": draw_id},
    )
    sample["inspectors"] = sample.pop("inspectors_json").map(json.loads)
    sample["pi"] = sample["pi_units"] / UNIT
    key = get_draw(conn, draw_id)["blinding_key"]
    sample["nonce"] = blinding.nonces(key, sample["uscc"].to_numpy(dtype=str)) if len(sample) else []
    return sample


def verify_stored(
    conn: Connection, draw_id: int, seed: str | None = None, salt: str | None = None, frame: bytes | None = None
) -> draw.Verification:
    """Re-run a drawn draw in full, as the auditor does, against its published parts; ``seed``,
    ``salt`` or ``frame`` replace the published ones (to see that a changed one is detected)."""
    row = get_draw(conn, draw_id)
    if row["status"] != "drawn":
        raise DrawStateError(f"draw {draw_id} is {row['status']}: there is nothing to verify before the reveal")
    sample = sample_of(conn, draw_id)
    published = frame if frame is not None else frame_bytes(conn, draw_id)
    seed, salt = seed or row["seed"], salt or row["salt"]
    if row["algorithm"] == draw.ALGORITHM_V1:
        tokens = [blinding.token(u, o) for u, o in zip(sample["uscc"], sample["opening"], strict=True)]
        return draw.verify(published, seed, salt, row["commitment"], row["frame_hash"], tokens)
    return draw.verify_full(
        audit_frame(conn, draw_id), published, seed, salt, row["commitment"], row["frame_hash"], sample["uscc"].tolist()
    )


def verify_published(conn: Connection, draw_id: int) -> draw.Verification:
    """What the public can check of a drawn draw from its publication alone (``draw.verify_public``)."""
    row = get_draw(conn, draw_id)
    if row["status"] != "drawn":
        raise DrawStateError(f"draw {draw_id} is {row['status']}: there is nothing to verify before the reveal")
    sample = sample_of(conn, draw_id)
    return draw.verify_public(
        frame_bytes(conn, draw_id),
        row["seed"],
        row["salt"],
        row["commitment"],
        row["frame_hash"],
        row["sample_size"],
        list(zip(sample["uscc"], sample["opening"])),
    )
