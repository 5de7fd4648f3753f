"""Charts drawn on the server as SVG by pygal, from a table's own numbers.

No JavaScript: pygal's tooltips script is left out (``js=[]``) and the configuration
script it writes into every chart is taken out of the tree before it is serialised; the
SVG is served as an image, which a browser never runs scripts in anyway. Labels pass
through the XML writer, which escapes them.
"""

import sys

import pygal
from pygal.etree import etree
from pygal.style import Style

from tracker.scorecards.tables import Table

# pygal puts an old-style import hook on sys.meta_path for its map plugins (pygal.maps.*);
# Python warns about it at every later import that reaches it. The tracker draws no maps.
sys.meta_path[:] = [hook for hook in sys.meta_path if type(hook).__name__ != "PluginImportFixer"]

STYLE = Style(
    background="white",
    plot_background="white",
    font_family="system-ui, sans-serif",
    colors=("#1f5f8b", "#6fa8dc", "#b45f06", "#f6b26b", "#6aa84f", "#999999"),
    # Solid bars: the guides behind them do not show through.
    opacity="1",
    opacity_hover="1",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=17,
)
# A bar's label in the chart; the table beside it gives each in full.
LABEL_CHARACTERS = 48
CHARTS = {
    "hbar": pygal.HorizontalBar,
    "bar": pygal.Bar,
    "stacked": pygal.HorizontalStackedBar,
    "pie": pygal.Pie,
}


def height_of(table: Table) -> int:
    """Tall enough to read: bars standing up get a fixed height, bars lying down room for
    each row and each series."""
    if table.chart in ("pie", "bar"):
        return 420
    return 170 + 26 * max(len(table.rows), 2) * max(len(table.series), 1)


def ticks(values: list[float | None]) -> list[float]:
    """Whole-number marks for a count or a number of days, at most about eight."""
    largest = max((v for v in values if v is not None), default=0)
    step = 1
    while largest / step > 8:
        step *= 5 if str(step).startswith("2") else 2
    return [float(n) for n in range(0, int(largest) + step + 1, step)]


def svg(table: Table) -> str:
    kind = CHARTS[table.chart]
    chart = kind(
        title=table.title,
        style=STYLE,
        width=800,
        height=height_of(table),
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        print_values=table.chart == "pie",
        no_data_text="No data",
        truncate_label=LABEL_CHARACTERS,
        truncate_legend=-1,
    )
    if table.chart == "pie":
        column = table.series[0]
        for row in table.rows:
            # A share of nothing is left out rather than drawn as a hairline.
            chart.add(str(row[0]), number(row[column]) or None)
    else:
        chart.x_labels = [str(row[0]) for row in table.rows]
        drawn: list[float | None] = []
        for column in table.series:
            values = [number(row[column]) for row in table.rows]
            drawn.extend(values)
            chart.add(table.columns[column], values)
        chart.y_labels = ticks(drawn)
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return str(etree.tostring(tree, encoding="unicode"))


def number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
