"""Prometheus metrics for the running worker (off by default, loopback by default); no business logic.

prometheus_client is imported only when a ``Metrics`` is built, so ``balcao --help`` and every
command that does not serve metrics never load it. Each ``Metrics`` has its own
CollectorRegistry (no process-global state: tests build as many as they like).

Series (all prefixed ``balcao_``):
- ``requests{status}``: requests in the journal by `Situação` (gauge, refreshed each tick);
- ``emails_sent_total``, ``events_created_total``: from each TickReport;
- ``api_errors_total{api,code}``: Google/SMTP errors by HTTP (or SMTP) code;
- ``ticks_total{result}``: ok | failed; ``tick_duration_seconds``: histogram;
- ``last_good_tick_timestamp_seconds``: Unix time of the last tick that completed;
- ``oldest_pending_age_seconds``: age of the oldest request still `Recebido`/`Pendente`
  (0 when none);
- ``requests_past_deadline``: valid, non-duplicate requests whose response deadline passed
  without an answer (no confirmation sent), as the status tab's "Prazo vencido sem resposta"
  and the report's `não` without `respondido_em`;
- ``paused``: 1 while effects are paused because Google refused the credentials.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from worker.lifecycle import Status
from worker.model import TickReport

_ERROR_RE = re.compile(r"^(?P<api>[a-z]+)\b[^:]*: (?:HTTP |SMTP )(?P<code>\d{3})")
PENDING = (Status.RECEIVED.value, Status.PENDING.value)
BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """The worker's metrics; ``start()`` serves them over HTTP, ``observe()`` after each tick."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        r = self.registry = CollectorRegistry()
        self.requests = Gauge("balcao_requests", "Requests in the journal by Situação",
                              ["status"], registry=r)
        self.emails = Counter("balcao_emails_sent", "E-mails sent", registry=r)
        self.events = Counter("balcao_events_created", "Calendar events created", registry=r)
        self.api_errors = Counter("balcao_api_errors", "Google or SMTP errors by API and code",
                                  ["api", "code"], registry=r)
        self.ticks = Counter("balcao_ticks", "Ticks by result", ["result"], registry=r)
        self.tick_duration = Histogram("balcao_tick_duration_seconds", "Duration of one tick",
                                       buckets=BUCKETS, registry=r)
        self.last_good = Gauge("balcao_last_good_tick_timestamp_seconds",
                               "Unix time of the last tick that completed", registry=r)
        self.oldest_pending = Gauge("balcao_oldest_pending_age_seconds",
                                    "Age of the oldest request waiting for a booking", registry=r)
        self.overdue = Gauge("balcao_requests_past_deadline",
                             "Requests past their response deadline without a booking", registry=r)
        self.paused = Gauge("balcao_paused", "1 while effects are paused (credentials refused)",
                            registry=r)
        for status in Status:
            self.requests.labels(status=status.value).set(0)
        self._server: Any = None
        self._thread: Any = None

    # ----------------------------------------------------------------- serving

    def start(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns the bound port
        (``port`` 0 takes a free one).

        What prometheus_client's ``start_http_server`` does, with a short poll interval so
        ``stop()`` returns at once instead of after half a second."""
        import socket
        import threading
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        from prometheus_client import make_wsgi_app
        from prometheus_client.exposition import ThreadingWSGIServer

        class Server(ThreadingWSGIServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # a scrape every 15 s must not flood the journal

        self._server = make_server(host, port, make_wsgi_app(self.registry), Server,
                                   handler_class=Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="balcao-metrics", daemon=True)
        self._thread.start()
        return int(self._server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ----------------------------------------------------------------- feeding

    def record_error(self, api: str, code: int | str) -> None:
        self.api_errors.labels(api=api, code=str(code)).inc()

    def observe(
        self, report: TickReport, journal: Any, now: datetime, *, duration: float | None = None,
    ) -> None:
        """Take one tick in: counters from the report, gauges from the journal (read only).

        ``duration`` defaults to ``now - report.started``. A failed tick whose error names an
        HTTP code (``"sheets values.batchGet: HTTP 429 ..."``) counts as an API error."""
        self.ticks.labels(result="ok" if report.ok else "failed").inc()
        self.tick_duration.observe(
            duration if duration is not None else max(0.0, (now - report.started).total_seconds())
        )
        if report.emails_sent:
            self.emails.inc(report.emails_sent)
        if report.events_created:
            self.events.inc(report.events_created)
        if report.ok:
            self.last_good.set(report.started.timestamp())
        for text in (report.error, report.paused_reason):
            m = _ERROR_RE.match(text or "")
            if m:
                self.record_error(m.group("api"), m.group("code"))
                break
        self.paused.set(1 if report.paused_reason else 0)
        self.observe_journal(journal, now)

    def observe_journal(self, journal: Any, now: datetime) -> None:
        stats = journal.stats()
        for status in {*stats, *(s.value for s in Status)}:
            self.requests.labels(status=status).set(stats.get(status, 0))
        rows = journal.open_deadlines(exclude=(Status.BOOKED.value,))
        oldest: datetime | None = None
        for status, _deadline, since in rows:
            # Parsed, not compared as text: stored offsets may differ.
            if status in PENDING and since:
                t = datetime.fromisoformat(since)
                oldest = t if oldest is None or t < oldest else oldest
        self.oldest_pending.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        self.overdue.set(journal.past_deadline_unanswered(now))

    def text(self) -> str:
        """The exposition text (what a scrape returns)."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode()


def from_settings(s: Any) -> Metrics | None:
    """A started Metrics when ``metrics.enabled``, else None (prometheus_client not imported)."""
    if not s.metrics.enabled:
        return None
    m = Metrics()
    m.start(s.metrics.port, s.metrics.host)
    return m
