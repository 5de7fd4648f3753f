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
)
CHARTS = {
    "hbar": pygal.HorizontalBar,
    "bar": pygal.Bar,
    "stacked": pygal.HorizontalStackedBar,
    "pie": pygal.Pie,
}


def svg(table: Table) -> str:
    kind = CHARTS[table.chart]
    height = 140 + 36 * max(len(table.rows), 2) if table.chart != "pie" else 420
    chart = kind(
        title=table.title,
        style=STYLE,
        width=800,
        height=height,
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        print_values=table.chart == "pie",
        no_data_text="No data",
        truncate_label=-1,
        truncate_legend=-1,
    )
    if table.chart == "pie":
        column = table.series[0]
        for row in table.rows:
            chart.add(str(row[0]), number(row[column]))
    else:
        chart.x_labels = [str(row[0]) for row in table.rows]
        for column in table.series:
            chart.add(table.columns[column], [number(row[column]) for row in table.rows])
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return str(etree.tostring(tree, encoding="unicode"))


def number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
