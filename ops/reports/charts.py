"""Small matplotlib charts as base64 PNG data URIs, for HTML e-mail."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

INK, ACCENT, MUTED, OK = "#1d2733", "#2f6db5", "#9aa7b4", "#1a7f37"


def data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def bars(labels: Sequence[str], values: Sequence[float], *, title: str, ylabel: str = "",
         compare: Sequence[float] | None = None, compare_label: str = "",
         color: str = ACCENT, ylim: tuple[float, float] | None = None) -> str:
    """Vertical bars (NaN = no bar), optionally with a comparison line (e.g. last week)."""
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    ax.bar(list(labels), list(values), color=color, label="esta semana")
    if compare is not None:
        ax.plot(list(labels), list(compare), color=MUTED, marker="o", lw=1.5,
                label=compare_label)
        ax.legend(frameon=False, fontsize=8, ncol=2, loc="upper left",
                  bbox_to_anchor=(0, -0.12))
    if ylim is not None:
        ax.set_ylim(*ylim)
    _style(ax, title, ylabel)
    return data_uri(fig)


def hbars(labels: Sequence[str], values: Sequence[float], *, title: str,
          color: str = ACCENT, decimals: int = 0) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * max(3, len(labels)) + 0.8))
    ax.barh(list(labels)[::-1], list(values)[::-1], color=color)
    _style(ax, title, "", horizontal=True, decimals=decimals)
    return data_uri(fig)


def line(labels: Sequence[str], values: Sequence[float], *, title: str, ylabel: str = "",
         color: str = OK) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 2.4))
    ax.plot(list(labels), list(values), color=color, marker="o", lw=2)
    _style(ax, title, ylabel)
    return data_uri(fig)


def _style(ax: plt.Axes, title: str, ylabel: str, *, horizontal: bool = False,
           decimals: int = 0) -> None:
    ax.set_title(title, fontsize=10, color=INK, loc="left")
    ax.set_ylabel(ylabel, fontsize=8, color=INK)
    ax.tick_params(labelsize=8, colors=INK)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e3e7ec", lw=0.8)
    values = ax.xaxis if horizontal else ax.yaxis
    values.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.{decimals}f}"))
    ax.set_axisbelow(True)
