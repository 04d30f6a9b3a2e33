"""The audit report as files: ``report.json`` (the data), ``report.md`` and a self-contained ``report.html``.

Both pages render from an :class:`AuditDocument` alone (plots are read from the audit directory and, in the
HTML, inlined as data URIs): the page makes no request of its own — no script, no CDN, no web font — so it
reads the same offline, attached to an email, or years later.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

from rlcert.audit.document import AuditDocument, CheckRecord
from rlcert.reports.findings import Evidence, Finding

__all__ = ["write_report", "render_markdown", "render_html", "evidence_label", "figure_text"]

_VERDICT_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#9a6700", "info": "#57606a"}


def evidence_label(finding: Finding) -> str:
    """``sound``, ``statistical (95% confidence)`` or ``empirical``: never a bare number without what stands
    behind it."""
    if finding.evidence is Evidence.STATISTICAL:
        return f"statistical ({finding.confidence:.0%} confidence)"
    return finding.evidence.value


def figure_text(finding: Finding) -> str:
    """The value, and for an empirical estimate its interval and what the interval is."""
    text = f"{finding.value:.4g}"
    if finding.interval is not None:
        low, high = finding.interval
        level = f"{finding.confidence:.0%} " if finding.confidence else ""
        text += f" ({level}interval {low:.4g} to {high:.4g})"
    return text


def _headline(record: CheckRecord) -> str:
    if record.headline is None:
        return "—"
    return f"{record.headline.name} = {figure_text(record.headline)}"


def _value_text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _cell(text) -> str:
    """Text for a Markdown table cell (a ``|`` would end the cell)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(document: AuditDocument) -> str:
    """The report as Markdown (plots linked, not inlined)."""
    counts = document.verdict_counts()
    lines = [f"# {document.title}", ""]
    lines += [f"Created {document.created} by rlcert {document.software.get('rlcert', '?')}.", ""]
    lines += ["Policies: " + "; ".join(f"`{s['policy']}` on `{s['env']}`" for s in document.subjects), ""]
    lines += [", ".join(f"{n} {v}" for v, n in counts.items()), ""]
    lines += ["## Summary", "", "| check | policy | verdict | headline figure | evidence |", "|---|---|---|---|---|"]
    for record in document.checks:
        evidence = evidence_label(record.headline) if record.headline else "—"
        lines.append(
            f"| [{record.title}](#{record.id}) | `{record.policy}` | **{record.verdict}** | "
            f"{_headline(record)} | {evidence} |"
        )
    for comparison in document.comparisons:
        lines += ["", f"### Side by side: {comparison['title']}", "", f"![{comparison['title']}]({comparison['plot']})"]
    for record in document.checks:
        lines += ["", f'## {record.title} — `{record.policy}` <a id="{record.id}"></a>', ""]
        lines += [f"**Verdict: {record.verdict}** — {record.reason}", ""]
        if not record.applied:
            continue
        lines += [f"{plot_line}" for plot_line in (f"![{record.title}]({p})" for p in record.plots)]
        lines += ["", f"*What this shows, and what it does not:* {record.reading}", ""]
        lines += ["| finding | value | evidence | method |", "|---|---|---|---|"]
        for finding in record.findings:
            cells = (finding.name, figure_text(finding), evidence_label(finding), finding.method)
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines += ["", "| parameter | value | meaning |", "|---|---|---|"]
        lines += [f"| {p.name} | `{_cell(_value_text(p.value))}` | {_cell(p.doc)} |" for p in record.parameters]
    lines += ["", "## Reproduce", "", "```", document.command or "(run from Python)", "```", ""]
    lines += [f"- `{s['policy']}`: weights sha256 `{s.get('policy_sha256')}`" for s in document.subjects]
    lines += ["- software: " + ", ".join(f"{k} {v}" for k, v in document.software.items()), ""]
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:70rem;padding:0 1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.verdict{color:#fff;border-radius:.3rem;padding:.05rem .45rem;font-weight:600}
.meta{color:#57606a;font-size:.9rem}.reading{background:#f6f8fa;border-left:4px solid #0969da;padding:.5rem .8rem}
img{max-width:100%;height:auto;border:1px solid #d0d7de}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}td.num{font-variant-numeric:tabular-nums}
"""


def _badge(verdict: str) -> str:
    return f'<span class="verdict" style="background:{_VERDICT_COLOURS[verdict]}">{html.escape(verdict)}</span>'


def _image(out_dir: Path, relative: str, alt: str) -> str:
    data = base64.b64encode((out_dir / relative).read_bytes()).decode("ascii")
    return f'<p><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"></p>'


def _section(record: CheckRecord, out_dir: Path) -> list[str]:
    e = html.escape
    parts = [f'<section id="{e(record.id)}">', f"<h2>{e(record.title)} — <code>{e(record.policy)}</code></h2>"]
    parts.append(f"<p>{_badge(record.verdict)} {e(record.reason)}</p>")
    if not record.applied:
        return [*parts, "</section>"]
    if record.headline is not None:
        parts.append(f"<p><b>{e(_headline(record))}</b> · {e(evidence_label(record.headline))}</p>")
    parts += [_image(out_dir, plot, f"{record.title} — {record.policy}") for plot in record.plots]
    parts.append(f'<p class="reading"><b>What this shows, and what it does not.</b> {e(record.reading)}</p>')
    parts.append("<table><tr><th>finding</th><th>value</th><th>evidence</th><th>method</th></tr>")
    for f in record.findings:
        parts.append(
            f'<tr><td>{e(f.name)}</td><td class="num">{e(figure_text(f))}</td><td>{e(evidence_label(f))}</td>'
            f"<td>{e(f.method)}</td></tr>"
        )
    parts.append("</table><details><summary>Parameters</summary><table>")
    parts.append("<tr><th>parameter</th><th>value</th><th>meaning</th></tr>")
    for p in record.parameters:
        parts.append(f"<tr><td>{e(p.name)}</td><td><code>{e(_value_text(p.value))}</code></td><td>{e(p.doc)}</td></tr>")
    parts.append(f'</table></details><p class="meta">computed in {record.wall_time_s:.1f} s</p></section>')
    return parts


def _comparison(document: AuditDocument, out_dir: Path) -> list[str]:
    """Several policies: one row per check, one column per policy (headline figure and verdict)."""
    policies = [s["policy"] for s in document.subjects]
    if len(policies) < 2:
        return []
    e = html.escape
    rows: dict[str, dict[str, CheckRecord]] = {}
    for record in document.checks:
        rows.setdefault(record.title, {})[record.policy] = record
    parts = ["<h2>Side by side</h2><table><tr><th>check</th>"]
    parts += [f"<th><code>{e(p)}</code></th>" for p in policies] + ["</tr>"]
    for title, by_policy in rows.items():
        parts.append(f"<tr><td>{e(title)}</td>")
        for policy in policies:
            record = by_policy.get(policy)
            cell = "—" if record is None else f"{_badge(record.verdict)} {e(_headline(record))}"
            parts.append(f"<td>{cell}</td>")
        parts.append("</tr>")
    parts.append("</table>")
    for comparison in document.comparisons:
        parts.append(f"<h3>{e(comparison['title'])}</h3>")
        parts.append(_image(out_dir, comparison["plot"], f"{comparison['title']}: the policies side by side"))
    return parts


def render_html(document: AuditDocument, out_dir: str | Path) -> str:
    """The report as one self-contained HTML page; plots are read from ``out_dir`` and inlined."""
    out_dir = Path(out_dir)
    e = html.escape
    counts = document.verdict_counts()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No request may leave the page: images are inlined, nothing else is fetched.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">",
        f"<title>{e(document.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(document.title)}</h1>",
        f'<p class="meta">Created {e(document.created)} by rlcert {e(document.software.get("rlcert", "?"))} · '
        + " · ".join(f"{n} {_badge(v)}" for v, n in counts.items())
        + "</p>",
        "<p>Every figure says what stands behind it: <b>sound</b> — a guarantee that holds with certainty; "
        "<b>statistical</b> — holds with the stated confidence over the sampled episodes; <b>empirical</b> — what "
        "was observed (an attack, a probe, a sample mean), never a bound.</p>",
        '<h2 id="summary">Summary</h2><table><tr><th>check</th><th>policy</th><th>verdict</th>'
        "<th>headline figure</th><th>evidence</th></tr>",
    ]
    for record in document.checks:
        evidence = evidence_label(record.headline) if record.headline else "—"
        parts.append(
            f'<tr><td><a href="#{e(record.id)}">{e(record.title)}</a></td><td><code>{e(record.policy)}</code></td>'
            f"<td>{_badge(record.verdict)}</td><td>{e(_headline(record))}</td><td>{e(evidence)}</td></tr>"
        )
    parts.append("</table>")
    parts += _comparison(document, out_dir)
    for record in document.checks:
        parts += _section(record, out_dir)
    parts.append('<h2 id="reproduce">Reproduce</h2>')
    parts.append(f"<pre>{e(document.command or '(run from Python)')}</pre><ul>")
    for s in document.subjects:
        parts.append(f"<li><code>{e(s['policy'])}</code> on <code>{e(s['env'])}</code>: weights sha256 "
                     f"<code>{e(str(s.get('policy_sha256')))}</code></li>")  # fmt: skip
    parts.append(f"<li>seed {e(str(document.suite.get('rollout', {}).get('seed')))}, suite: "
                 f"{e(str(document.suite.get('source')))}</li>")  # fmt: skip
    parts.append("<li>software: " + e(", ".join(f"{k} {v}" for k, v in document.software.items())) + "</li></ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(document: AuditDocument, out_dir: str | Path) -> dict[str, Path]:
    """report.json, report.md and report.html in ``out_dir`` (each written whole, then renamed into place)."""
    out_dir = Path(out_dir)
    files = {
        "json": (out_dir / "report.json", document.to_json() + "\n"),
        "md": (out_dir / "report.md", render_markdown(document)),
        "html": (out_dir / "report.html", render_html(document, out_dir)),
    }
    for path, text in files.values():
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    json.loads(files["json"][1])  # what was written parses
    return {kind: path for kind, (path, _) in files.items()}
