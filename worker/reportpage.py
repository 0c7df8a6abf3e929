"""The month's report as a self-contained pt-BR HTML page and a PNG chart (matplotlib, Agg); no data work here.

Imported only by `balcao report` when it writes files: matplotlib and jinja2 never load in
the daemon or in any other command.
"""

from __future__ import annotations

import base64
import io
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from worker.config import Settings

if TYPE_CHECKING:
    import pandas as pd

    from worker.report import Breakdown, Month, Report

BAR_COLOUR, LINE_COLOUR = "#3b6ea8", "#c8553d"


def chart_png(daily: pd.DataFrame, month: Month) -> bytes:
    """Per day: requests received as bars (left axis) and the share answered within the
    deadline as a line (right axis, 0–100 %); a day with nothing judged leaves a gap."""
    import matplotlib

    matplotlib.use("Agg")  # no display, no GUI toolkit: a server or CI renders the same
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fig = Figure(figsize=(10, 4.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    days = list(daily.index)
    ax.bar(days, daily["requests"], color=BAR_COLOUR, width=0.7, label="Solicitações recebidas")
    ax.set_xlim(0.3, month.days + 0.7)
    ax.set_xticks(days)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(f"Dia ({month.label})")
    ax.set_ylabel("Solicitações")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1, int(daily["requests"].max() or 0)) * 1.15)
    ax.grid(axis="y", alpha=0.3)
    right = ax.twinx()
    right.plot(days, daily["share"] * 100, color=LINE_COLOUR, marker="o", linewidth=2,
               label="Respondidas no prazo (%)")
    right.set_ylim(0, 105)
    right.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    right.set_ylabel("Respondidas no prazo")
    handles = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    fig.legend(handles[0] + more[0], handles[1] + more[1], loc="outside lower center",
               ncols=2, fontsize=9, frameon=False)
    ax.set_title(f"Balcão Virtual – solicitações por dia, {month.label}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _br(value: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if value is None else fmt.format(value).replace(".", ",")


def _pct(share: float | None) -> str:
    return "–" if share is None else _br(100 * share) + " %"


def _rows(parts: tuple[Breakdown, ...]) -> list[tuple[str, int, int, int, str]]:
    return [(b.name, b.received, b.in_time, b.late, _pct(b.share)) for b in parts]


_PAGE = """<!DOCTYPE html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Balcão Virtual – relatório de {{ month }}</title>
<style>
body { font-family: system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2733;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d5dbe3; }
.sub { color: #526070; margin-top: 0; }
.note { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6rem 0.9rem; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.card { border: 1px solid #d5dbe3; border-radius: 6px; padding: 0.6rem 0.9rem; min-width: 9rem; }
.card b { display: block; font-size: 1.6rem; }
.card.good b { color: #23753b; } .card.bad b { color: #b03a2e; }
table { border-collapse: collapse; margin-top: 0.5rem; }
th, td { padding: 0.3rem 0.8rem; border-bottom: 1px solid #e4e8ee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
dt { font-weight: 600; margin-top: 0.5rem; }
footer { margin-top: 2.5rem; color: #526070; font-size: 0.9rem; }
</style>
</head>
<body>
<h1>Balcão Virtual – {{ office }}</h1>
<p class="sub">Relatório mensal de {{ month }} · gerado em {{ generated }} ({{ tz }})</p>
{% if note %}<p class="note">{{ note }}</p>{% endif %}

<h2>Solicitações</h2>
<div class="cards">
  <div class="card"><b>{{ f.received }}</b>recebidas</div>
  <div class="card"><b>{{ f.valid }}</b>válidas</div>
  <div class="card"><b>{{ f.duplicates }}</b>duplicadas</div>
  <div class="card"><b>{{ f.attention }}</b>requerem atenção</div>
</div>

<h2>Prazo de resposta (24 horas)</h2>
<div class="cards">
  <div class="card good"><b>{{ f.in_time }}</b>respondidas no prazo ({{ share }})</div>
  <div class="card bad"><b>{{ f.late }}</b>fora do prazo</div>
  <div class="card"><b>{{ f.pending }}</b>aguardando resposta, prazo em curso</div>
  {% if f.untimed %}<div class="card"><b>{{ f.untimed }}</b>respondidas sem hora registrada</div>{% endif %}
</div>
<p>Tempo de resposta: mediana <b>{{ median }}</b>, 90 % respondidas em até <b>{{ p90 }}</b>
({{ f.timed }} com resposta).</p>

<h2>Atendimentos</h2>
<div class="cards">
  <div class="card"><b>{{ f.held }}</b>realizados</div>
  <div class="card"><b>{{ f.no_shows }}</b>não compareceu</div>
  <div class="card"><b>{{ f.cancelled }}</b>cancelados</div>
</div>

<h2>Por dia</h2>
<img src="data:image/png;base64,{{ png }}" width="1100" height="462"
     alt="Gráfico: solicitações recebidas por dia (barras) e parcela respondida no prazo (linha), {{ month }}">

{% for title, column, rows in breakdowns %}
<h2>{{ title }}</h2>
{% if rows %}
<table>
<thead><tr><th>{{ column }}</th><th>Recebidas</th><th>No prazo</th><th>Fora do prazo</th><th>% no prazo</th></tr></thead>
<tbody>
{% for name, received, in_time, late, pct in rows %}<tr><td>{{ name }}</td><td>{{ received }}</td><td>{{ in_time }}</td><td>{{ late }}</td><td>{{ pct }}</td></tr>
{% endfor %}</tbody>
</table>
{% else %}<p>Nenhuma solicitação.</p>{% endif %}
{% endfor %}

<h2>Definições</h2>
<dl>
<dt>Recebidas</dt><dd>Toda solicitação enviada pelo formulário no mês (horário de {{ tz }}), inclusive duplicadas e linhas com problema.</dd>
<dt>Válidas</dt><dd>Recebidas que não são duplicadas e foram aceitas (dados completos e consentimento).</dd>
<dt>Duplicadas</dt><dd>Repetições de uma solicitação já aberta, marcadas “Duplicado”.</dd>
<dt>Requerem atenção</dt><dd>Solicitações com a situação “Requer atenção” na data do relatório.</dd>
<dt>Prazo</dt><dd>24 horas contadas do recebimento em horário de expediente (Provimento Conjunto nº 03/2022 do TJBA, Resolução CNJ nº 372/2021).</dd>
<dt>Resposta</dt><dd>O primeiro e-mail de confirmação que informa data e hora do atendimento; o atendimento em si pode ser depois do prazo.</dd>
<dt>No prazo / fora do prazo</dt><dd>No prazo: resposta até o prazo. Fora do prazo: resposta depois do prazo, ou nenhuma resposta e o prazo já venceu. Percentual = no prazo ÷ (no prazo + fora do prazo). Duplicadas e solicitações nunca válidas não entram.</dd>
<dt>Tempo de resposta</dt><dd>Resposta menos recebimento: mediana (metade foi respondida em até esse tempo) e percentil 90.</dd>
<dt>Realizados, não compareceu, cancelados</dt><dd>Situação atual das solicitações do mês.</dd>
</dl>
<footer>Este relatório não contém nomes, e-mails nem telefones. A lista por solicitação está no arquivo
balcao-{{ key }}.csv.</footer>
</body>
</html>
"""


def render_html(report: Report, s: Settings, png: bytes, now: datetime) -> str:
    """One self-contained page: inline CSS, the chart as a ``data:image/png`` URI, no script,
    nothing fetched; autoescaped (office and service names come from the configuration and
    the form)."""
    import jinja2

    from worker.report import duration

    f = report.figures
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_PAGE).render(
        office=s.office.name, month=report.month.label, key=report.month.key,
        tz=s.office.timezone,
        generated=f"{now.astimezone(ZoneInfo(s.office.timezone)):%d/%m/%Y %H:%M}",
        note=_note_pt(report), f=f, share=_pct(f.share),
        median=duration(f.median_s) if f.median_s is not None else "–",
        p90=duration(f.p90_s) if f.p90_s is not None else "–",
        png=base64.b64encode(png).decode("ascii"),
        breakdowns=[("Por canal", "Canal", _rows(f.by_channel)),
                    ("Por serviço", "Serviço", _rows(f.by_service))],
    )


def _note_pt(report: Report) -> str:
    f = report.figures
    if report.state == "future":
        return "Este mês ainda não começou: não há dados."
    if report.state == "empty":
        return "Nenhuma solicitação foi recebida neste mês."
    if report.state == "flagged":
        return ("Neste mês só houve solicitações duplicadas ou nunca válidas: não há prazo a "
                "avaliar.")
    if f.untimed:
        return (f"{f.untimed} resposta(s) enviada(s) antes de uma reconstrução do diário "
                "(balcao recover) sem hora registrada: não entram no percentual.")
    return ""
