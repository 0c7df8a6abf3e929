"""`balcao privacy export|erase|register|record`: a data subject's requests found (alias-aware), exported as JSON, erased through worker.erasure; the elimination register (CSV) and the record of processing (pt-BR Markdown); operator shell, SQL stays in the journal.

LGPD art. 19 gives 15 days for a complete answer; CNJ Provimento 149/2023 arts. 95-98 ask for
a tracked flow; CNJ Provimento 50/2015 art. 3 has eliminations reported to the judge every six
months (the register).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from worker import erasure
from worker.adapters.a1 import col_letter
from worker.config import Settings
from worker.deps import Deps
from worker.effects import Executor
from worker.erasure import Eraser, Located, SheetRows
from worker.journal import InstanceLock, Journal, JournalError
from worker.model import AdapterError, ConfigError, RequestRecord, TickReport
from worker.planners import retention

EXIT_OK, EXIT_FAIL = 0, 1


@dataclass
class Subject:
    """Who asks: an address (matched by inbox) or a protocol."""

    email: str | None = None
    protocol: str | None = None

    def as_json(self) -> dict[str, str]:
        return {"email": self.email} if self.email else {"protocol": self.protocol or ""}

    def __str__(self) -> str:
        return self.email or self.protocol or ""


@dataclass
class Found:
    protocols: list[str]
    at: Located | None


def find(deps: Deps, rows: SheetRows, subject: Subject) -> Found:
    """The subject's requests and their `Duplicado` rows. An address also matches rows whose
    journal record no longer holds it (blanked by the first release's retention) through the
    sheet's e-mail column."""
    j = deps.journal
    if subject.protocol:
        p = subject.protocol.strip().upper()
        protocols = [p] if j.get(p) is not None else []
        at = rows.locate() if protocols else None
    else:
        email = subject.email or ""
        protocols = retention.matching(j.privacy.addresses(), email)
        at = rows.locate(with_emails=True)
        row_to_protocol = {r: p for p, r in at.row_of.items()}
        for r, cell in sorted(at.emails.items()):
            known = row_to_protocol.get(r)
            if known is None or known in protocols or not isinstance(cell, str):
                continue
            rec = j.get(known)
            if rec is not None and rec.erasure_id is None and retention.matching(
                [(known, cell)], email
            ):
                protocols.append(known)
    return Found(erasure.with_duplicates(deps, protocols), at)


# --------------------------------------------------------------------------- export


def export(deps: Deps, subject: Subject, now: datetime) -> dict[str, Any]:
    exe = Executor(deps, now, TickReport(started=now))
    rows = SheetRows(deps, exe)
    found = find(deps, rows, subject)
    shown = rows.rows(found.at, found.protocols, displayed=True) if found.at else {}
    requests = []
    for p in found.protocols:
        rec = deps.journal.get(p)
        if rec is not None:
            requests.append(_request(deps, exe, rec, found.at, shown.get(p)))
    return {"generated_at": now.isoformat(), "subject": subject.as_json(), "requests": requests}


def _request(
    deps: Deps, exe: Executor, rec: RequestRecord, at: Located | None, row: list[Any] | None
) -> dict[str, Any]:
    answers: dict[str, str] = {}
    if at is not None and row is not None:
        owned = set(at.hmap.owned.values())
        for c, value in enumerate(row):
            title = str(at.header[c]).strip() if c < len(at.header) else ""
            if c in owned or (not title and value in ("", None)):
                continue
            answers[title or f"coluna {col_letter(c + 1)}"] = str(value)
    emails = [
        {"kind": e.kind, "sent_at": e.done_at, "message_id": e.key}
        for e in deps.journal.privacy.effects_of(rec.protocol)
        if e.kind != "event" and e.state == "done"
    ]
    return {
        "protocol": rec.protocol,
        "submitted_at": rec.submitted,
        "answers": answers,
        "status": rec.status,
        "deadline": rec.deadline,
        "appointment": rec.slot_start,
        "channel": rec.channel,
        "link": rec.meet_link,
        "emails": emails,
        "events": _events(deps, exe, rec),
        "audit": [{"at": a["at"], "event": a["event"]}
                  for a in deps.journal.audit_trail(rec.protocol)],
    }


def _events(deps: Deps, exe: Executor, rec: RequestRecord) -> list[dict[str, Any]]:
    if not rec.event_id or not rec.calendar_id:
        return []
    cal, eid = rec.calendar_id, rec.event_id
    start, status = rec.slot_start, rec.event_state or "unknown"
    try:
        got = exe.call(lambda: deps.calendar.get_event(cal, eid), "calendar events.get")
    except AdapterError:
        got = None  # the journal's view is reported instead
    if got is not None:
        status = got.status
        start = got.start.isoformat() if got.start else start
    return [{"calendar": cal, "event_id": eid, "start": start, "status": status}]


def export_summary(doc: dict[str, Any], subject: Subject) -> str:
    """The pt-BR lines the operator reads on stderr (and may paste into the answer)."""
    reqs = doc["requests"]
    if not reqs:
        return f"Nenhum dado pessoal encontrado para {subject}."
    protocols = ", ".join(r["protocol"] for r in reqs)
    mails = sum(len(r["emails"]) for r in reqs)
    events = sum(len(r["events"]) for r in reqs)
    return (
        f"{len(reqs)} solicitação(ões) encontrada(s) para {subject}: {protocols}.\n"
        f"Inclui as respostas do formulário, {mails} e-mail(s) enviado(s), {events} evento(s) "
        "de agenda e a trilha de auditoria.\n"
        "Envie o arquivo ao titular em até 15 dias do pedido (LGPD, art. 19)."
    )


# --------------------------------------------------------------------------- erase


def erase(deps: Deps, subject: Subject, now: datetime, *, yes: bool, out: TextIO) -> int:
    eraser = Eraser(deps, now)
    found = find(deps, eraser.rows, subject)
    recs = {p: deps.journal.get(p) for p in found.protocols}
    hold = {p.strip() for p in deps.settings.privacy.legal_hold}
    held = [p for p, r in recs.items() if p in hold or (r is not None and r.duplicate_of in hold)]
    if held:
        print(f"refused: {' '.join(held)} on legal hold (privacy.legal_hold); nothing was "
              "erased", file=out)
        return EXIT_FAIL
    if yes:
        for done in eraser.resume():
            print(f"completed the interrupted elimination {done.elimination}: "
                  f"{' '.join(done.protocols)}", file=out)
        recs = {p: deps.journal.get(p) for p in found.protocols}
    todo = [p for p, r in recs.items() if r is not None and r.erasure_id is None]
    already = [p for p, r in recs.items() if r is not None and r.erasure_id is not None]
    if already:
        print(f"already erased: {' '.join(already)}", file=out)
    if not todo:
        print(f"nothing to erase for {subject}", file=out)
        return EXIT_OK
    if not yes:
        _plan(deps, [r for p in todo if (r := recs[p]) is not None], found.at, now, out)
        return EXIT_OK
    result = eraser.erase(todo, erasure.REASON_SUBJECT)
    print(f"erased {' '.join(result.protocols)}: {result.sheet} sheet row(s), "
          f"{result.calendar} calendar event(s) stripped, {result.journal} journal record(s); "
          f"register line {result.elimination}", file=out)
    if result.cancelled:
        print(f"cancelled (citizen e-mailed first): {' '.join(result.cancelled)}", file=out)
    _unreachable(out)
    sent = [e.key for p in result.protocols for e in deps.journal.privacy.effects_of(p)
            if e.kind != "event" and e.state == "done"]
    if sent:
        print("  the messages to find in Sent (Gmail search): "
              + " ".join(f"rfc822msgid:{key}" for key in sent), file=out)
    return EXIT_OK


def _plan(
    deps: Deps, recs: Sequence[RequestRecord], at: Located | None, now: datetime, out: TextIO
) -> None:
    print("dry run: nothing changed; with --yes balcao would erase:", file=out)
    for rec in recs:
        row = at.row_of.get(rec.protocol) if at else None
        where = f"sheet row {row}" if row else "no sheet row found"
        if not rec.event_id or rec.event_state in ("", "failed"):
            event = "no event"
        elif retention.future_appointment(rec, now):
            event = "future appointment: event stripped, then cancelled (cancellation e-mail)"
        else:
            event = "event stripped to its protocol and kept"
        print(f"  {rec.protocol}: {where} → answers [removido]; {event}; journal: name, "
              "e-mail, phone, fingerprint", file=out)
    _unreachable(out)


def _unreachable(out: TextIO) -> None:
    print("balcao cannot reach, do by hand:", file=out)
    for line in erasure.UNREACHABLE:
        print(f"  - {line}", file=out)


# --------------------------------------------------------------------------- register, record

REGISTER_HEADER = ("data", "motivo", "protocolos", "planilha", "agenda", "diario")


def register(
    journal: Journal, tz: str, out: TextIO, since: date | None = None, until: date | None = None
) -> int:
    """The elimination register as CSV (complete eliminations, oldest first)."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(REGISTER_HEADER)
    for el in journal.privacy.eliminations(state="done"):
        day = datetime.fromisoformat(el.at).astimezone(ZoneInfo(tz)).date()
        if (since and day < since) or (until and day > until):
            continue
        w.writerow((day.isoformat(), el.reason, " ".join(el.protocols), el.sheet, el.calendar,
                    el.journal))
    return len(journal.privacy.eliminations(state="intent"))


def record(s: Settings) -> str:
    """The record of processing (registro das operações de tratamento), pt-BR Markdown."""
    cols = s.form.columns
    read = [f"- {t}" for t in cols.titles()]
    mail = ("Gmail (Google Workspace)" if s.mail.transport == "gmail"
            else f"servidor SMTP {s.mail.smtp.host}")
    enc = s.privacy.encarregado
    who = f"{enc.name} <{enc.email}>" if enc.email else (enc.name or "(não configurado)")
    hold = ", ".join(s.privacy.legal_hold) or "nenhum"
    return "\n".join([
        f"# Registro das operações de tratamento – Balcão Virtual ({s.office.name})",
        "",
        "## Dados coletados",
        "Campos do formulário lidos pelo balcao:",
        *read,
        "",
        "Outros campos do formulário (CPF, por exemplo): não lidos pelo balcao; ficam apenas "
        "na planilha e são eliminados com a linha.",
        "",
        "## Finalidade",
        "Agendar e prestar o atendimento a distância do Balcão Virtual (Provimento CNJ "
        "149/2023; Provimento Conjunto TJBA nº 03/2022): protocolo, prazo de resposta, "
        "agendamento e e-mails ao cidadão.",
        "",
        "## Base legal",
        "LGPD, art. 7º, II e III, e art. 23 (execução de serviço público delegado e "
        "cumprimento de obrigação legal e regulatória).",
        "",
        "## Onde os dados ficam e operadores",
        f"- Google Planilhas: a planilha de respostas (id `{s.form.spreadsheet_id}`)",
        f"- Google Agenda: eventos dos atendimentos ({', '.join(s.scheduling.calendars)})",
        f"- E-mail: {mail}",
        "- Diário local do balcao (SQLite, arquivo com permissão 0600)",
        "",
        "## Retenção",
        f"{s.retention_days} dias após a última atividade (fim do atendimento ou última "
        "mudança de situação); depois os dados pessoais são eliminados da planilha, da agenda "
        "e do diário, e a eliminação entra no registro (`balcao privacy register`). "
        f"Protocolos sob guarda legal: {hold}.",
        "",
        "## Medidas de segurança",
        "Acesso pela conta de serviço do cartório com os escopos mínimos; diário com "
        "permissão 0600 e exclusão segura; registros de log sem nomes, e-mails ou telefones "
        "em claro; textos do formulário nunca gravados como fórmula.",
        "",
        "## Encarregado",
        who,
        "",
        "## Canal para os titulares",
        f"Pedidos de acesso ou eliminação: {enc.email or s.office.email or '(não configurado)'} "
        "(gratuito; resposta completa em até 15 dias, LGPD art. 19).",
        "",
    ])


# --------------------------------------------------------------------------- command line


def run(s: Settings, action: str, args: Any) -> int:
    if action == "record":
        print(record(s), end="")
        return EXIT_OK
    if action == "register":
        return _run_register(s, args)
    subject = Subject(email=args.email, protocol=args.protocol)
    if action == "export":
        return _run_export(s, subject, args.out)
    if action == "erase":
        return _run_erase(s, subject, yes=args.yes)
    raise ConfigError(f"privacy: unknown action {action!r}")


def _run_register(s: Settings, args: Any) -> int:
    since, until = _date(args.since, "--since"), _date(args.until, "--until")
    if not Path(s.journal.path).exists():
        register(Journal(":memory:"), s.office.timezone, sys.stdout, since, until)
        return EXIT_OK
    journal = Journal(s.journal.path, readonly=True)
    try:
        open_ = register(journal, s.office.timezone, sys.stdout, since, until)
    finally:
        journal.close()
    if open_:
        print(f"balcao: {open_} elimination(s) interrupted and not yet complete: run "
              "`balcao privacy erase` again or wait for the retention job", file=sys.stderr)
    print("balcao: not in this register, erased by hand: " + "; ".join(erasure.UNREACHABLE),
          file=sys.stderr)
    return EXIT_OK


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what}: expected a date YYYY-MM-DD, found {text!r}") from None


def _run_export(s: Settings, subject: Subject, out_path: str | None) -> int:
    from worker import bootstrap, runner

    if not Path(s.journal.path).exists():
        print(f"balcao: Nenhum dado pessoal encontrado para {subject}.", file=sys.stderr)
        return EXIT_FAIL
    journal = Journal(s.journal.path, readonly=True)
    try:
        doc = export(bootstrap.deps(s, journal), subject, runner._now(s))
    finally:
        journal.close()
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if out_path:
        Path(out_path).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(export_summary(doc, subject), file=sys.stderr)
    return EXIT_OK if doc["requests"] else EXIT_FAIL


def _run_erase(s: Settings, subject: Subject, *, yes: bool) -> int:
    from worker import bootstrap, runner

    if not yes:
        if not Path(s.journal.path).exists():
            print(f"nothing to erase for {subject}")
            return EXIT_OK
        journal = Journal(s.journal.path, readonly=True)
        try:
            return erase(bootstrap.deps(s, journal), subject, runner._now(s), yes=False,
                         out=sys.stdout)
        finally:
            journal.close()
    runner.setup_logging(s)
    lock = InstanceLock(s.journal.path)
    lock.acquire()  # the daemon must not work on the rows being erased
    try:
        try:
            journal = Journal(s.journal.path)
        except JournalError as exc:
            print(f"balcao: {exc}", file=sys.stderr)
            return EXIT_FAIL
        try:
            return erase(bootstrap.deps(s, journal), subject, runner._now(s), yes=True,
                         out=sys.stdout)
        finally:
            journal.close()
    finally:
        lock.release()
