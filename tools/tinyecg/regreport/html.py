"""HTML building blocks of the report: escaping, number formatting, tables
(including tables generated from whatever keys a JSON object has), embedded
images and the repository's Markdown texts.  No section knowledge here:
:mod:`tinyecg.regreport.render` lays the sections out with these.
"""

from __future__ import annotations

import base64
import html
import re

DASH = "\u2013"   # an undefined statistic (bxb prints "-")


class Raw(str):
    """Already-HTML text (not escaped again)."""


def esc(x) -> str:
    return x if isinstance(x, Raw) else html.escape(str(x), quote=True)


def fmt(v, digits: int = 2) -> str:
    """A value for a table cell: None -> en dash, ints with thousands separators."""
    if isinstance(v, Raw):
        return v
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) >= 1000:
            return f"{int(v):,}"
        return f"{v:,.{digits}f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x, digits) for x in v) if all(not isinstance(x, (dict, list)) for x in v) \
            else f"{len(v)} items"
    return esc(v)


def _cls(v) -> str:
    return ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) or v is None else ""


def table(headers: list, rows: list[list], cls: str = "", caption: str | None = None,
          row_classes: list[str] | None = None) -> str:
    out = [f'<table class="{esc(cls)}">' if cls else "<table>"]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr></thead><tbody>")
    for i, r in enumerate(rows):
        rc = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        out.append(f"<tr{rc}>" + "".join(f"<td{_cls(c)}>{fmt(c)}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def kv_table(pairs, cls: str = "kv") -> str:
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return table(["", ""], [[Raw(f"<b>{esc(k)}</b>"), v] for k, v in items], cls=cls).replace(
        "<thead><tr><th></th><th></th></tr></thead>", "")


def flatten(obj, prefix: str = "") -> dict:
    """Nested dicts -> {"a.b": scalar}; lists of scalars kept, lists of dicts counted."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                out.update(flatten(v, key))
            else:
                out[key] = v
    else:
        out[prefix or "value"] = obj
    return out


def auto_table(rows: list[dict], first: str | None = None, skip=(), cls: str = "") -> str:
    """A table over every (flattened) key any row has, in order of first appearance."""
    flat = [flatten(r) for r in rows]
    cols: list[str] = []
    for f in flat:
        for k in f:
            if k not in cols and not any(k == s or k.startswith(s + ".") for s in skip):
                cols.append(k)
    if first and first in cols:
        cols.remove(first)
        cols.insert(0, first)
    return table([c.replace("_", " ") for c in cols], [[f.get(c) for c in cols] for f in flat], cls=cls)


def render_any(obj, level: int = 4) -> str:
    """Any JSON value as tables: a dict of records becomes one table, a dict of
    scalars a key/value table, deeper dicts sub-headed parts."""
    if isinstance(obj, list):
        if obj and all(isinstance(x, dict) for x in obj):
            return auto_table(obj)
        return f"<p>{fmt(obj)}</p>"
    if not isinstance(obj, dict):
        return f"<p>{fmt(obj)}</p>"
    scalars = {k: v for k, v in obj.items() if not isinstance(v, (dict, list)) or
               (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v))}
    nested = {k: v for k, v in obj.items() if k not in scalars}
    out = [kv_table({k.replace("_", " "): v for k, v in scalars.items()})] if scalars else []
    dict_values = [v for v in nested.values() if isinstance(v, dict)]
    if nested and len(dict_values) == len(nested) and len(nested) > 1 and \
            all(not any(isinstance(x, dict) for x in v.values()) for v in dict_values):
        out.append(auto_table([{"": k, **v} for k, v in nested.items()], first=""))
    else:
        for k, v in nested.items():
            out.append(f"<h{level}>{esc(k.replace('_', ' '))}</h{level}>" + render_any(v, min(level + 1, 6)))
    return "".join(out)


def png(blob: bytes, alt: str, width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    return (f'<img alt="{esc(alt)}"{w} src="data:image/png;base64,'
            f'{base64.b64encode(blob).decode("ascii")}">')


def markdown(text: str, shift: int = 2) -> str:
    """Render a repository Markdown text; its headings move `shift` levels down
    so that they nest under the report's own section heading."""
    from markdown_it import MarkdownIt
    out = MarkdownIt("commonmark").enable("table").render(text)

    def sub(m):
        n = min(6, int(m.group(2)) + shift)
        return f"<{m.group(1)}h{n}>"
    return Raw(re.sub(r"<(/?)h([1-6])>", sub, out))


def verdict(v: str) -> Raw:
    cls = {"passed": "ok", "FAILED": "bad", "broken reference": "bad", "not run": "warn",
           "skipped": "warn", "partly run": "warn", "no test named": "warn"}.get(v, "")
    return Raw(f'<span class="v {cls}">{esc(v)}</span>')


CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 14px; color: #111; margin: 0; background: #fff; }
header { background: #17324d; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 6px 0; font-size: 24px; }
header p { margin: 2px 0; }
nav { padding: 8px 32px; background: #eef2f6; border-bottom: 1px solid #ccd; }
nav ol { margin: 4px 0; columns: 3; }
main { padding: 0 32px 40px 32px; max-width: 1500px; }
section { border-bottom: 1px solid #ccd; padding-bottom: 12px; }
h2 { color: #17324d; margin-top: 28px; border-left: 6px solid #17324d; padding-left: 10px; }
h3 { color: #17324d; margin-top: 22px; }
h4 { margin: 14px 0 6px 0; }
table { border-collapse: collapse; margin: 8px 0 14px 0; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #c8ced6; padding: 3px 7px; vertical-align: top; text-align: left; }
th { background: #e4e9ef; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: bold; background: #f3f6f9; }
tr.avg td { font-style: italic; background: #f8fafb; }
table.kv td:first-child { width: 260px; }
table.matrix td.num { min-width: 56px; }
code, .hash { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-all; }
.v { padding: 1px 6px; border-radius: 3px; font-weight: bold; white-space: nowrap; }
.ok { background: #d8f0d8; color: #145214; }
.bad { background: #f7d4d4; color: #7a1010; }
.warn { background: #fbecc8; color: #6a4a00; }
.note { background: #f4f6f8; border-left: 4px solid #9aa9b8; padding: 6px 10px; margin: 8px 0; }
.alert { background: #fbecc8; border-left: 4px solid #c08a00; padding: 6px 10px; margin: 8px 0; }
img { max-width: 100%; border: 1px solid #ddd; margin: 6px 0; }
details { margin: 6px 0 10px 0; }
summary { cursor: pointer; color: #17324d; }
@media print { nav { display: none; } header { background: #fff; color: #000; } }
"""


def page(title: str, header_html: str, nav: list[tuple[str, str]], body: str) -> str:
    links = "".join(f'<li><a href="#{esc(i)}">{esc(t)}</a></li>' for i, t in nav)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><header>{header_html}</header>"
            f"<nav><ol>{links}</ol></nav><main>{body}</main></body></html>\n")
