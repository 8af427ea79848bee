"""Events drawn from the latent world: penalties, licences, lists, court, tax, inspections,
commitments and complaints — each through a logistic or Poisson link on latent risk.

Frames hold entity/person indices and day numbers; ``tables`` turns them into file rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from . import vocab
from .dates import NA_DAY, day, to_date, year_of
from .ids import stream
from .world import ADULT_DAYS, World

_HISTORY_DAYS = 2922  # about eight years
_PENALTY_V2_FROM = day(date(2020, 1, 1))
_NOTICE_CRITICISM_FROM = day(date(2021, 7, 15))  # 通报批评 exists since the 2021 penalty law
_AREA = np.array([i.area for i in vocab.INDUSTRIES], dtype=object)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Events:
    """All event frames of one synthetic province."""

    penalties: pd.DataFrame
    licences: pd.DataFrame
    abnormal: pd.DataFrame
    serious: pd.DataFrame
    court: pd.DataFrame
    tax: pd.DataFrame
    inspections: pd.DataFrame
    commitments: pd.DataFrame
    complaints: pd.DataFrame


def _window(world: World, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Per entity, the days it could have events: from registration (or ``start``) until it
    ended (or as_of)."""
    ent = world.entities
    lo = np.maximum(ent["est"].to_numpy(), start)
    end = ent["end"].to_numpy()
    hi = np.where(end == NA_DAY, world.as_of, end)
    return lo, np.maximum(hi, lo)


def _spread(
    rng: np.random.Generator, rate: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(rate per year × years) events per entity, on uniform days of its window."""
    counts = rng.poisson(rate * (hi - lo) / 365.25)
    idx = np.repeat(np.arange(len(rate)), counts)
    days = lo[idx] + (rng.random(len(idx)) * (hi - lo)[idx]).astype(np.int64)
    return idx, days


def _sequence(keys: list[np.ndarray]) -> np.ndarray:
    """1-based running number within each key group (document numbers per office and year)."""
    return (
        pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)})
        .groupby([f"k{i}" for i in range(len(keys))], sort=False)
        .cumcount()
        .to_numpy()
        + 1
    )


def penalties(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """Administrative penalties since 2016; severity and fines grow with risk."""
    ent = world.entities
    start = max(day(date(2016, 1, 1)), world.as_of - 3653)
    lo, hi = _window(world, start)
    risk = ent["risk"].to_numpy()
    area = _AREA[ent["industry"].to_numpy()]
    rate = 0.035 * np.exp(0.9 * risk) * np.where(area != "", 1.5, 1.0)
    idx, days = _spread(rng, rate, lo, hi)
    order = np.lexsort((days, idx))
    idx, days = idx[order], days[order]
    n = len(idx)
    s = risk[idx] + 0.8 * rng.standard_normal(n)
    criticism = days >= _NOTICE_CRITICISM_FROM
    tier = np.select(
        [s < -0.4, (s < -0.1) & criticism, s < -0.1, s < 1.6, s < 2.3, s < 3.0],
        ["warning", "criticism", "warning", "fine", "confiscate", "suspend"],
        "revoke",
    )
    fine = np.round(np.exp(7.6 + 0.7 * s + 0.8 * rng.standard_normal(n)), -2).clip(200, None)
    fine = np.where(np.isin(tier, ["warning", "criticism"]), 0.0, fine)
    confiscated = np.where(tier == "confiscate", np.round(np.exp(6.5 + 0.5 * rng.standard_normal(n)), -1), 0.0)
    sep = np.where(rng.random(n) < 0.5, "、", ";")
    categories = np.select(
        [tier == "warning", tier == "criticism", tier == "fine", tier == "confiscate", tier == "suspend"],
        ["警告", "通报批评", "罚款", "罚款" + sep + "没收违法所得", "责令停产停业" + sep + "罚款"],
        "吊销许可证件" + sep + "罚款",
    )
    ent_area = area[idx]
    violation = np.empty(n, dtype=object)
    basis = np.empty(n, dtype=object)
    for key, options in vocab.VIOLATIONS.items():
        mask = ent_area == key
        pick = rng.integers(0, len(options), int(mask.sum()))
        violation[mask] = [options[i][0] for i in pick]
        basis[mask] = [options[i][1] for i in pick]
    region = ent["region"].to_numpy()[idx]
    year = year_of(days)
    small = np.isin(tier, ["criticism"]) | ((tier == "fine") & (fine < 10_000))
    publicity_end = np.select([tier == "warning", small], [NA_DAY, days + 91], days + 1095)
    valid_to = np.where(tier == "suspend", days + 180, NA_DAY)
    return pd.DataFrame(
        {
            "entity": idx,
            "day": days,
            "year": year,
            "tier": tier,
            "categories": categories,
            "fine": fine,
            "confiscated": confiscated,
            "violation": violation,
            "basis": basis,
            "region": region,
            "seq": _sequence([region, year]),
            "publicity_end": publicity_end,
            "valid_to": valid_to,
            "revoked_decision": rng.random(n) < 0.01,
            "v2": days >= _PENALTY_V2_FROM,
        }
    )


def licences(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """Licence decisions (with renewals) for licensed industries; good firms hold more."""
    ent = world.entities
    lo, hi = _window(world, max(day(date(2016, 1, 1)), world.as_of - 3653))
    kind = np.array([i.licence for i in vocab.INDUSTRIES])[ent["industry"].to_numpy()]
    rate = np.where(kind >= 0, 0.15 * np.exp(-0.2 * ent["risk"].to_numpy()), 0.0)
    idx, days = _spread(rng, rate, lo, hi)
    order = np.lexsort((days, idx))
    idx, days = idx[order], days[order]
    n = len(idx)
    region = ent["region"].to_numpy()[idx]
    year = year_of(days)
    valid_to = days + 5 * 365 - 1
    ended = ent["end"].to_numpy()[idx] != NA_DAY
    u = rng.random(n)
    state = np.select([u < 0.01, ended, valid_to < world.as_of], ["撤销", "注销", "失效"], "有效")
    return pd.DataFrame(
        {
            "entity": idx,
            "day": days,
            "year": year,
            "kind": kind[idx],
            "region": region,
            "seq": _sequence([region, year]),
            "valid_to": valid_to,
            "state": state,
            "long_term": rng.random(n) < 0.03,
        }
    )


def abnormal_and_serious(
    world: World, rng: np.random.Generator, pen: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """经营异常名录 entries (missed annual reports, unreachable addresses …), their removals,
    and the 严重违法失信名单 entries that follow three unresolved years or grave penalties."""
    ent = world.entities
    as_of = world.as_of
    listed_kind = ent["prefix"].to_numpy() != "2"
    risk = ent["risk"].to_numpy()
    est, end = ent["est"].to_numpy(), ent["end"].to_numpy()
    alive_until = np.where(end == NA_DAY, as_of, end)
    first_year = to_date(as_of - _HISTORY_DAYS).year
    years = np.arange(first_year, to_date(as_of).year + 1)
    listing_days = np.array([day(date(int(y), 7, 1)) for y in years])
    e = np.repeat(np.arange(len(ent)), len(years))
    y_day = np.tile(listing_days, len(ent))
    due = listed_kind[e] & (est[e] < y_day - 181) & (alive_until[e] > y_day + 20) & (y_day + 20 <= as_of)
    missed = due & (rng.random(len(e)) < _sigmoid(-3.2 + 1.0 * risk[e]))
    report_idx, report_days = e[missed], y_day[missed] + rng.integers(0, 20, int(missed.sum()))
    lo, hi = _window(world, as_of - _HISTORY_DAYS)
    other_idx, other_days = _spread(rng, np.where(listed_kind, 0.006 * np.exp(1.0 * risk), 0.0), lo, hi)
    other_reason = rng.choice([1, 2, 3], size=len(other_idx), p=[0.2, 0.15, 0.65])
    ab = (
        pd.DataFrame(
            {
                "entity": np.concatenate([report_idx, other_idx]),
                "day": np.concatenate([report_days, other_days]),
                "reason": np.concatenate([np.zeros(len(report_idx), dtype=np.int64), other_reason]),
            }
        )
        .sort_values(["entity", "day", "reason"], kind="stable")
        .reset_index(drop=True)
    )
    n = len(ab)
    r = risk[ab["entity"].to_numpy()]
    removal = ab["day"].to_numpy() + 5 + rng.exponential(150, n).astype(np.int64)
    removable = (rng.random(n) < _sigmoid(1.2 - 0.9 * r)) & (removal <= alive_until[ab["entity"].to_numpy()])
    ab["removed"] = np.where(removable & (removal <= as_of), removal, NA_DAY)

    # Three years unresolved -> serious list (once per entity).
    promote_day = ab["day"].to_numpy() + 1096 + rng.integers(0, 30, n)
    deadline = np.minimum(as_of, alive_until[ab["entity"].to_numpy()])
    promoted = (ab["removed"].to_numpy() == NA_DAY) & (promote_day <= deadline)
    from_ab = pd.DataFrame(
        {
            "entity": ab["entity"].to_numpy()[promoted],
            "day": promote_day[promoted],
            "reason": vocab.SERIOUS_FROM_ABNORMAL,
        }
    ).drop_duplicates("entity")
    grave = pen[(pen["tier"] == "revoke") & (_AREA[ent["industry"].to_numpy()[pen["entity"].to_numpy()]] != "")]
    grave = grave[rng.random(len(grave)) < 0.3]
    from_pen = pd.DataFrame(
        {
            "entity": grave["entity"].to_numpy(),
            "day": np.minimum(grave["day"].to_numpy() + 15, as_of),
            "reason": vocab.SERIOUS_FROM_PENALTY,
        }
    )
    se = pd.concat([from_ab, from_pen], ignore_index=True).sort_values(["entity", "day"], kind="stable")
    se = se.reset_index(drop=True)
    m = len(se)
    gap = np.maximum(as_of - se["day"].to_numpy() - 365, 0)
    removed = (gap > 0) & (rng.random(m) < 0.15)
    se["removed"] = np.where(removed, se["day"].to_numpy() + 365 + (rng.random(m) * gap).astype(np.int64), NA_DAY)
    return ab, se


def court(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """失信被执行人 rows: enterprises (with their legal representative named) and adult persons."""
    ent, persons = world.entities, world.persons
    as_of = world.as_of
    lo, hi = _window(world, as_of - _HISTORY_DAYS)
    risk = ent["risk"].to_numpy()
    firm = ent["prefix"].to_numpy() != "2"
    e_idx, e_day = _spread(rng, np.where(firm, 0.004 * np.exp(1.1 * risk), 0.0), lo, hi)
    lr = ent["lr"].to_numpy()
    # The legal representative of a listed firm (or an individual business's operator) is often
    # listed in a case of their own; other people are listed for their own debts.
    with_lr = rng.random(len(e_idx)) < 0.6
    op_idx, op_day = _spread(rng, np.where(~firm, 0.004 * np.exp(1.1 * risk), 0.0), lo, hi)
    first_role = world.roles.drop_duplicates("person").set_index("person")["entity"]
    home = first_role.reindex(np.arange(len(persons))).to_numpy()
    p_rate = 0.003 * np.exp(1.2 * persons["risk"].to_numpy())
    p_lo = np.full(len(persons), as_of - _HISTORY_DAYS)
    own_idx, own_day = _spread(rng, p_rate, p_lo, np.full(len(persons), as_of))
    lr_day = np.clip(e_day[with_lr] + rng.integers(-200, 200, int(with_lr.sum())), as_of - _HISTORY_DAYS, as_of)
    person_rows = pd.DataFrame(
        {
            "person": np.concatenate([lr[e_idx[with_lr]], lr[op_idx], own_idx]),
            "entity": np.concatenate([e_idx[with_lr], op_idx, home[own_idx]]),
            "day": np.concatenate([lr_day, op_day, own_day]),
        }
    )
    adult = persons["birth"].to_numpy()[person_rows["person"].to_numpy()] + ADULT_DAYS
    person_rows = person_rows[person_rows["day"].to_numpy() >= adult]
    firm_rows = pd.DataFrame({"person": -1, "entity": e_idx, "day": e_day})
    rows = pd.concat([firm_rows, person_rows], ignore_index=True)
    rows = rows.sort_values(["day", "entity", "person"], kind="stable").reset_index(drop=True)
    n = len(rows)
    region = ent["region"].to_numpy()[rows["entity"].to_numpy()]
    year = year_of(rows["day"].to_numpy())
    rows["region"], rows["year"] = region, year
    rows["seq"] = _sequence([region, year])
    rows["basis_year"] = year - (rng.random(n) < 0.6)
    rows["basis_seq"] = rng.integers(1, 9000, n)
    published = np.minimum(rows["day"].to_numpy() + rng.integers(30, 200, n), as_of)
    rows["published"] = published
    gone = published + rng.integers(60, 700, n)
    rows["removed"] = np.where((rng.random(n) < 0.35) & (gone <= as_of), gone, NA_DAY)
    rows["conduct"] = rng.choice(len(vocab.COURT_CONDUCT), n, p=[0.7, 0.15, 0.05, 0.1])
    rows["performance"] = rng.choice(len(vocab.COURT_PERFORMANCE), n, p=[0.8, 0.2])
    return rows


def tax(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """Yearly 纳税信用等级 for enterprises and cooperatives; M for the newly established."""
    ent = world.entities
    as_of = world.as_of
    graded = np.flatnonzero(ent["prefix"].to_numpy() != "2")
    years = np.arange(to_date(as_of).year - 5, to_date(as_of).year)
    e = np.repeat(graded, len(years))
    y = np.tile(years, len(graded))
    rated = np.array([day(date(int(v) + 1, 4, 1)) for v in years])[y - years[0]] + rng.integers(0, 25, len(e))
    year_end = np.array([day(date(int(v), 12, 31)) for v in years])[y - years[0]]
    est, end = ent["est"].to_numpy()[e], ent["end"].to_numpy()[e]
    keep = (est <= year_end) & (rated <= as_of) & ((end == NA_DAY) | (end > rated))
    e, y, rated, est = e[keep], y[keep], rated[keep], est[keep]
    score = -ent["risk"].to_numpy()[e] + 0.7 * rng.standard_normal(len(e))
    grade = np.select([score > 0.9, score > -1.0, score > -1.9], ["A", "B", "C"], "D").astype(object)
    new = (year_of(est) == y) | (rng.random(len(e)) < 0.04)
    grade[new] = "M"
    return pd.DataFrame({"entity": e, "year": y, "grade": grade, "day": rated})


def complaints(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """Consumer complaints; substantiated more often against risky firms."""
    ent = world.entities
    lo, hi = _window(world, world.as_of - _HISTORY_DAYS)
    consumer = np.array([i.consumer for i in vocab.INDUSTRIES])[ent["industry"].to_numpy()]
    risk = ent["risk"].to_numpy()
    idx, days = _spread(rng, np.where(consumer, 0.12, 0.02) * np.exp(0.5 * risk), lo, hi)
    n = len(idx)
    food = _AREA[ent["industry"].to_numpy()[idx]] == "food"
    category = rng.integers(0, len(vocab.COMPLAINT_CATEGORIES) - 1, n)
    category = np.where(food & (rng.random(n) < 0.4), len(vocab.COMPLAINT_CATEGORIES) - 1, category)
    true = rng.random(n) < _sigmoid(-0.5 + 0.9 * risk[idx])
    verdict = np.where(days > world.as_of - 60, "待核实", np.where(true, "是", "否"))
    out = pd.DataFrame({"entity": idx, "day": days, "category": category, "verdict": verdict})
    return out.sort_values(["day", "entity"], kind="stable").reset_index(drop=True)


def inspections(world: World, rng: np.random.Generator, comp: pd.DataFrame) -> pd.DataFrame:
    """Inspection results of the last six years: random draws, targeted checks that favour
    risky firms, and checks of complaints. A problem is found with ``p_problem``."""
    ent = world.entities
    lo, hi = _window(world, world.as_of - 6 * 365)
    risk = ent["risk"].to_numpy()
    r_idx, r_day = _spread(rng, np.full(len(ent), 0.07), lo, hi)
    t_idx, t_day = _spread(rng, 0.025 * np.exp(0.6 * risk), lo, hi)
    t_type = rng.choice([1, 2], len(t_idx), p=[0.6, 0.4])
    checked = comp[(comp["verdict"] != "待核实") & (rng.random(len(comp)) < 0.3)]
    c_idx = checked["entity"].to_numpy()
    c_day = np.minimum(checked["day"].to_numpy() + rng.integers(1, 30, len(checked)), world.as_of)
    out = (
        pd.DataFrame(
            {
                "entity": np.concatenate([r_idx, t_idx, c_idx]),
                "day": np.concatenate([r_day, t_day, c_day]),
                "type": np.concatenate([np.zeros(len(r_idx), dtype=np.int64), t_type, np.full(len(c_idx), 3)]),
            }
        )
        .sort_values(["day", "entity", "type"], kind="stable")
        .reset_index(drop=True)
    )
    n = len(out)
    out["problem"] = rng.random(n) < ent["p_problem"].to_numpy()[out["entity"].to_numpy()]
    ok = rng.choice(len(vocab.INSPECTION_OK), n, p=[0.55, 0.3, 0.15])
    bad = rng.choice(len(vocab.INSPECTION_PROBLEM), n, p=[0.25, 0.1, 0.2, 0.3, 0.03, 0.12])
    out["result"] = np.where(
        out["problem"],
        np.array(vocab.INSPECTION_PROBLEM, dtype=object)[bad],
        np.array(vocab.INSPECTION_OK, dtype=object)[ok],
    )
    out["region"] = ent["region"].to_numpy()[out["entity"].to_numpy()]
    return out


def commitments(world: World, rng: np.random.Generator, lic: pd.DataFrame, ab: pd.DataFrame) -> pd.DataFrame:
    """信用承诺: made with licence applications, for credit repair, or voluntarily; risky firms
    break them more often."""
    ent = world.entities
    as_of = world.as_of
    told = lic[(lic["day"] >= day(date(2019, 1, 1))) & (rng.random(len(lic)) < 0.3)]
    repaired = ab[(ab["removed"] != NA_DAY) & (rng.random(len(ab)) < 0.8)]
    lo, hi = _window(world, as_of - _HISTORY_DAYS)
    v_idx, v_day = _spread(rng, np.full(len(ent), 0.03), lo, hi)
    out = pd.DataFrame(
        {
            "entity": np.concatenate([told["entity"].to_numpy(), repaired["entity"].to_numpy(), v_idx]),
            "day": np.concatenate(
                [
                    told["day"].to_numpy() - rng.integers(0, 10, len(told)),
                    repaired["removed"].to_numpy() - rng.integers(1, 20, len(repaired)),
                    v_day,
                ]
            ),
            "type": np.concatenate(
                [np.zeros(len(told), dtype=np.int64), np.full(len(repaired), 2), np.ones(len(v_idx), dtype=np.int64)]
            ),
        }
    )
    out = out[out["day"].to_numpy() >= ent["est"].to_numpy()[out["entity"].to_numpy()]]
    out = out.sort_values(["day", "entity", "type"], kind="stable").reset_index(drop=True)
    n = len(out)
    broke = rng.random(n) < _sigmoid(-2.6 + 1.0 * ent["risk"].to_numpy()[out["entity"].to_numpy()])
    pending = out["day"].to_numpy() > as_of - 90
    out["state"] = np.where(pending, "待核查", np.where(broke, "未履约", "履约"))
    checked = np.minimum(out["day"].to_numpy() + rng.integers(30, 365, n), as_of)
    out["checked"] = np.where(pending, NA_DAY, checked)
    return out


def build_events(world: World, seed: int) -> Events:
    """Draw every event kind, each from its own random stream."""
    pen = penalties(world, stream(seed, "penalties"))
    lic = licences(world, stream(seed, "licences"))
    ab, se = abnormal_and_serious(world, stream(seed, "lists"), pen)
    comp = complaints(world, stream(seed, "complaints"))
    return Events(
        penalties=pen,
        licences=lic,
        abnormal=ab,
        serious=se,
        court=court(world, stream(seed, "court")),
        tax=tax(world, stream(seed, "tax")),
        inspections=inspections(world, stream(seed, "inspections"), comp),
        commitments=commitments(world, stream(seed, "commitments"), lic, ab),
        complaints=comp,
    )
