"""The plots logged with every training run. Figures are built without pyplot, so no backend
is chosen here: a notebook keeps its inline plots and a server needs no screen."""

from __future__ import annotations

import functools
import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from credit_engine.scoring import metrics

#: Fonts with Chinese glyphs, best first (fonts-noto-cjk, then fonts common on Windows and macOS).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
)


@functools.cache
def cjk_font() -> str | None:
    """The first installed font that draws Chinese, or None, said once: an analyst's column names
    and the catalogue's labels are Chinese, and without such a font they are empty boxes."""
    import matplotlib
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is not None:  # first in line, the others still there for Latin text and symbols
        matplotlib.rcParams["font.sans-serif"] = [found, *matplotlib.rcParams["font.sans-serif"]]
        matplotlib.rcParams["axes.unicode_minus"] = False
    else:
        logging.getLogger(__name__).warning(
            "no font with Chinese glyphs is installed (e.g. apt-get install fonts-noto-cjk): Chinese text in the "
            "plots shows as boxes"
        )
    return found


def _axes(width: float, height: float):
    cjk_font()
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def roc(y: np.ndarray, scores: dict[str, np.ndarray], weight: np.ndarray | None = None) -> Figure:
    fig, ax = _axes(5, 5)
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(y, p, sample_weight=weight)
        ax.plot(fpr, tpr, label=f"{name} (AUC {metrics.auc(y, p, weight):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, validation")
    ax.legend(loc="lower right")
    return fig


def calibration(table: pd.DataFrame) -> Figure:
    fig, ax = _axes(5, 5)
    ax.plot(table["predicted"], table["observed"], marker="o")
    top = float(max(table["predicted"].max(), table["observed"].max()))
    ax.plot([0, top], [0, top], color="grey", linestyle=":")
    ax.set(xlabel="mean predicted probability", ylabel="observed problem rate", title="Calibration by decile")
    return fig


def importance_table(model) -> pd.DataFrame:
    gain = model.booster_.feature_importance(importance_type="gain")
    return (
        pd.DataFrame({"feature": model.columns_, "gain": gain})
        .sort_values("gain", ascending=False)
        .reset_index(drop=True)
    )


def importance(table: pd.DataFrame, top: int = 20) -> Figure:
    shown = table.head(top).iloc[::-1]
    fig, ax = _axes(6, 0.3 * len(shown) + 1)
    ax.barh(shown["feature"], shown["gain"])
    ax.set(xlabel="total gain", title="Feature importance (LightGBM)")
    fig.tight_layout()
    return fig
