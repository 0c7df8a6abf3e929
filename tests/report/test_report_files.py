"""`balcao report --out`: the CSV for the Corregedoria, the pt-BR page with its chart, the PNG,
and the months and journals that have little or odd data."""

from __future__ import annotations

import base64
import dataclasses
import io
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from PIL import Image

from tests.report.kit import BAHIA, MARCH, NOW, PERSONAL, Expected, build, protocol, settings
from worker.journal import Journal, RequestRecord
from worker.report import CSV_HEADER, run_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """What a reader of the page sees: the cards (figure → label), images, scripts, links."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.cards: dict[str, str] = {}
        self.images: list[str] = []
        self.external: list[str] = []
        self.scripts = 0
        self.text: list[str] = []
        self._card: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag not in ("b", "i", "em", "strong", "a", "span"):
            self.text.append(" ")  # a new block or cell reads apart from the last
        if tag == "html":
            self.lang = a.get("lang") or ""
        if tag == "div" and "card" in (a.get("class") or "").split():
            self._card = []
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            value = a.get(name) or ""
            if value and not value.startswith("data:"):
                self.external.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._card is not None:
            figure, *label = [t for t in self._card if t]
            self.cards[" ".join(label)] = figure
            self._card = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._card is not None:
            self._card.append(data.strip())


def write(journal: Path, out: Path, now: datetime = NOW, month: str = MARCH) -> tuple[int, str]:
    stream = io.StringIO()
    code = run_report(settings(journal), now=now, month=month, out_dir=out, out=stream)
    return code, stream.getvalue()


def page(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    journal = build(tmp_path / "j.sqlite3")
    out = tmp_path / "out"
    code, text = write(journal, out)
    assert code == 0, text
    return out


def test_the_csv_round_trips_through_pandas_with_the_agreed_header(files: Path) -> None:
    path = files / "balcao-2026-03.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == (
        "protocolo,recebido_em,prazo,respondido_em,no_prazo,canal,servico,situacao,atendimento,"
        "duplicado_de")
    df = read_csv(path)
    assert tuple(df.columns) == CSV_HEADER
    assert list(df["protocolo"]) == [protocol(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12)]
    assert dict(zip(df["protocolo"], df["no_prazo"], strict=True)) == {
        protocol(n): v for n, v in Expected.no_prazo.items()}


def test_the_csv_gives_each_time_in_iso_8601_with_the_office_offset(files: Path) -> None:
    df = read_csv(files / "balcao-2026-03.csv").set_index("protocolo")
    assert df.loc[protocol(1)].to_dict() == {
        "recebido_em": "2026-03-02T10:00:00-03:00", "prazo": "2026-03-03T10:00:00-03:00",
        "respondido_em": "2026-03-02T11:00:00-03:00", "no_prazo": "sim", "canal": "Google Meet",
        "servico": "Certidão de nascimento", "situacao": "Realizado",
        "atendimento": "2026-03-04T10:00:00-03:00", "duplicado_de": "",
    }
    # Stored in UTC, written in office time.
    assert df.loc[protocol(11), "recebido_em"] == "2026-03-31T23:30:00-03:00"
    assert df.loc[protocol(4), "duplicado_de"] == protocol(3)
    assert df.loc[protocol(12), ["recebido_em", "prazo", "respondido_em"]].tolist() == ["", "", ""]
    times = pd.concat([df[c][df[c] != ""] for c in ("recebido_em", "prazo", "respondido_em")])
    assert times.str.endswith("-03:00").all()
    assert pd.to_datetime(times, format="ISO8601").notna().all()


def test_the_csv_and_the_page_hold_no_name_email_or_phone(files: Path) -> None:
    for name in ("balcao-2026-03.csv", "balcao-2026-03.html"):
        text = (files / name).read_text(encoding="utf-8")
        assert not [p for p in PERSONAL if p in text], name


def test_the_page_is_portuguese_self_contained_and_carries_the_chart_as_a_png(
    files: Path,
) -> None:
    p = page(files / "balcao-2026-03.html")
    assert p.lang == "pt-BR"
    assert p.scripts == 0 and p.external == []
    assert len(p.images) == 1 and p.images[0].startswith("data:image/png;base64,")
    png = base64.b64decode(p.images[0].removeprefix("data:image/png;base64,"), validate=True)
    assert png.startswith(PNG_SIGNATURE)
    assert png == (files / "balcao-2026-03.png").read_bytes()


def test_the_page_shows_every_figure_of_the_month(files: Path) -> None:
    cards = page(files / "balcao-2026-03.html").cards
    assert cards == {
        "recebidas": "11", "válidas": "8", "duplicadas": "1", "requerem atenção": "3",
        "respondidas no prazo (66,7 %)": "4", "fora do prazo": "2",
        "aguardando resposta, prazo em curso": "2",
        "realizados": "2", "não compareceu": "1", "cancelados": "1",
    }
    text = " ".join("".join(page(files / "balcao-2026-03.html").text).split())
    assert "mediana 2 h 0 min, 90 % respondidas em até 1 d 1 h 12 min (5 com resposta)" in text
    assert "Google Meet 6 4 1 80,0 %" in text and "WhatsApp 3 0 1 0,0 %" in text
    assert "Certidão de nascimento 4 3 0 100,0 %" in text and "Procuração 2 1 1 50,0 %" in text


def test_the_png_is_a_chart_image_of_its_own(files: Path) -> None:
    image = Image.open(files / "balcao-2026-03.png")
    assert image.format == "PNG" and image.width > 600 and image.height > 250


def empty_journal(path: Path) -> Path:
    Journal(str(path)).close()
    return path


@pytest.mark.parametrize(("month", "message", "page_note"), [
    ("2026-03", "no request was submitted in 2026-03", "Nenhuma solicitação foi recebida"),
    ("2031-01", "2031-01 has not started yet", "Este mês ainda não começou"),
])
def test_an_empty_or_future_month_says_so_and_still_writes_every_file(
    tmp_path: Path, month: str, message: str, page_note: str,
) -> None:
    code, text = write(empty_journal(tmp_path / "j.sqlite3"), tmp_path / "out", month=month)
    assert code == 0 and message in text
    csv = tmp_path / "out" / f"balcao-{month}.csv"
    assert csv.read_text(encoding="utf-8") == ",".join(CSV_HEADER) + "\n"
    assert read_csv(csv).empty
    p = page(tmp_path / "out" / f"balcao-{month}.html")
    assert page_note in "".join(p.text) and p.cards["recebidas"] == "0"
    assert p.images[0].startswith("data:image/png;base64,")
    assert (tmp_path / "out" / f"balcao-{month}.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_month_of_only_duplicates_and_invalid_rows_has_nothing_to_judge(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(str(path))
    with j.tx():
        for n, status, valid, dup in ((1, "Requer atenção", 0, None),
                                      (2, "Duplicado", 1, "BV-2026-000009")):
            at = f"2026-03-0{n}T10:00:00-03:00"
            j.insert(RequestRecord(
                protocol=protocol(n), seq=n, fingerprint=f"fp{n}", submitted=at, ts_key=None,
                received_at=at, deadline=None, status=status, valid=valid, duplicate_of=dup,
                updated_at=at))
    j.close()
    code, text = write(path, tmp_path / "out")
    assert code == 0 and "has only duplicates or rows that were never valid" in text
    df = read_csv(tmp_path / "out" / "balcao-2026-03.csv")
    assert list(df["no_prazo"]) == ["", ""]
    cards = page(tmp_path / "out" / "balcao-2026-03.html").cards
    assert cards["recebidas"] == "2" and cards["respondidas no prazo (–)"] == "0"


def test_a_journal_rebuilt_by_recover_gives_a_report_and_its_files(tmp_path: Path) -> None:
    """Recovery stores ``now`` with microseconds beside whole-second times: the first release
    failed here with a pandas datetime unit mismatch."""
    from tests.service.harness import Harness
    from worker.recovery import recover_into

    h = Harness(tmp_path, datetime(2026, 3, 10, 10, 0, tzinfo=BAHIA))
    h.submit(h.now - timedelta(minutes=5))
    h.submit(h.now - timedelta(minutes=3), email="bruno.lima@example.com")
    h.tick()
    h.advance(minutes=1)
    h.tick()
    rebuilt = tmp_path / "rebuilt.sqlite3"
    j = Journal(str(rebuilt))
    recover_into(j, h.s, h.sheet, h.calendar, h.mailer,
                 now=h.now + timedelta(microseconds=123456))
    j.close()
    s: Any = dataclasses.replace(h.s, journal=dataclasses.replace(h.s.journal, path=str(rebuilt)))
    out = io.StringIO()
    code = run_report(s, now=h.now, out_dir=tmp_path / "out", out=out)
    assert code == 0, out.getvalue()
    # The confirmations went out, but the rebuilt journal does not know when: not judged,
    # counted apart, and said so.
    assert "answered, time unknown       2" in out.getvalue()
    df = read_csv(tmp_path / "out" / "balcao-2026-03.csv")
    assert list(df["situacao"]) == ["Agendado", "Agendado"]
    assert list(df["respondido_em"]) == ["", ""] and list(df["no_prazo"]) == ["", ""]
    assert "sem hora registrada" in "".join(page(tmp_path / "out" / "balcao-2026-03.html").text)


def test_an_out_directory_that_cannot_be_created_exits_1_naming_out(tmp_path: Path) -> None:
    journal = build(tmp_path / "j.sqlite3")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, text = write(journal, blocker / "out")
    assert code == 1 and "(--out)" in text
