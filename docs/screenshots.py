"""`make screenshots`: each e-mail kind's HTML at phone (390 px) and desktop (1024 px) widths, via Debian's headless chromium, into docs/.

The sample e-mails (``samples()``) are rendered from the shipped config.yaml and fixed dates,
so the images change only when a template or the office's config does. README's e-mail
examples come from the same samples (a test compares them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from worker import bootstrap  # noqa: E402
from worker.config import load  # noqa: E402
from worker.messages import (  # noqa: E402
    Digest,
    DigestAppointment,
    DigestDeadline,
    DigestRow,
    Renderer,
)
from worker.model import Channel, EmailSpec  # noqa: E402

WIDTHS = {"phone": 390, "desktop": 1024}
TZ = ZoneInfo("America/Bahia")
DOMAIN = "balcao.cartorio.example"
MEET = "https://meet.google.com/abc-defg-hij"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def samples() -> list[tuple[str, EmailSpec]]:
    """(file stem, e-mail) for each kind, as balcao would send them for the seed office."""
    office = bootstrap.office_info(load(REPO / "config.yaml"))
    r = Renderer(REPO / "templates")
    maria = {"office": office, "protocol": "BV-2026-000123", "name": "maria das dores",
             "to": "maria@example.com", "sender_domain": DOMAIN}
    joao = {**maria, "protocol": "BV-2026-000124", "name": "JOÃO DA SILVA",
            "to": "joao@example.com"}
    meet = {"start": at(15, 10), "end": at(15, 10, 30), "channel": Channel.MEET,
            "meet_link": MEET}
    whatsapp = {"start": at(16, 14), "end": at(16, 14, 30), "channel": Channel.WHATSAPP,
                "meet_link": None, "phone": "(71) 99876-5432"}
    staff = "secretaria@cartorio.example"
    digest = Digest(
        day=date(2026, 12, 15), now=at(15, 7, 30),
        appointments=(
            DigestAppointment(at(15, 10), "BV-2026-000123", "maria das dores", Channel.MEET,
                              link=MEET),
            DigestAppointment(at(15, 14), "BV-2026-000124", "JOÃO DA SILVA", Channel.WHATSAPP,
                              phone="(71) 99876-5432"),
        ),
        attention=(DigestRow("BV-2026-000127", "Requer atenção",
                             "Telefone inválido para WhatsApp: (71) 1234"),),
        deadlines=(DigestDeadline("BV-2026-000128", at(15, 11, 40)),
                   DigestDeadline("BV-2026-000126", at(14, 16, 5))),
    )
    return [
        ("ack", r.render_ack(**maria, deadline=at(15, 9, 12), now=at(14, 9, 12))),
        ("confirmation", r.render_confirmation(
            **maria, **meet, revision=1, service="Certidão de casamento",
            request_subject="Segunda via para o INSS")),
        ("confirmation-rescheduled-whatsapp", r.render_confirmation(
            **joao, **whatsapp, revision=2, service="Procuração",
            request_subject="Procuração para venda de imóvel")),
        ("reminder", r.render_reminder(**maria, **meet, hours_before=24, revision=1)),
        ("cancellation", r.render_cancellation(
            **maria, start=at(15, 10), end=at(15, 10, 30), channel=Channel.MEET, revision=1)),
        ("no-show", r.render_no_show(**maria, start=at(15, 10), revision=1)),
        ("digest", r.render_digest(office=office, digest=digest, to=staff,
                                   sender_domain=DOMAIN)),
        ("alert", r.render_deadline_alert(office=office, protocol="BV-2026-000128",
                                          deadline=at(15, 11, 40), to=staff,
                                          sender_domain=DOMAIN, status="Recebido")),
    ]


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("chromium not found: `apt-get install chromium` (the make target does it)")


def _run(browser: str, *args: str) -> str:
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--default-background-color=f3f4f6ff", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return done.stdout


# Headless chromium lays a page out at least 500 px wide and keeps ~87 px of the window for
# itself, so the e-mail goes into an iframe of the exact width (srcdoc: same origin, so the
# wrapper can measure it) and the window gets that much extra height.
_CHROME = 87
_WRAPPER = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
    '<body style="margin:0;background-color:#f3f4f6">'
    '<iframe id="mail" style="display:block;border:0;width:{width}px;height:{height}px" '
    'srcdoc="{doc}"></iframe>{probe}</body></html>'
)
_PROBE = (
    "<script>const f=document.getElementById('mail');f.onload=()=>{document.title="
    "String(f.contentDocument.documentElement.scrollHeight)}</script>"
)


def wrapper(html: str, width: int, height: int, probe: bool) -> str:
    from html import escape

    return _WRAPPER.format(width=width, height=height, doc=escape(html, quote=True),
                           probe=_PROBE if probe else "")


def height(browser: str, page: Path, html: str, width: int) -> int:
    """The e-mail's full height at ``width``, as the wrapper measures it once laid out."""
    page.write_text(wrapper(html, width, 50, probe=True), encoding="utf-8")
    dom = _run(browser, f"--window-size={max(width, 500)},800", "--virtual-time-budget=3000",
               "--dump-dom", page.as_uri())
    found = re.search(r"<title>(\d+)</title>", dom)
    if not found:
        raise RuntimeError(f"could not measure {page.name}")
    return int(found.group(1))


def main() -> int:
    browser = chromium()
    out = REPO / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        for stem, spec in samples():
            page = Path(tmp) / f"{stem}.html"
            for label, width in WIDTHS.items():
                png = out / f"email-{stem}-{label}.png"
                h = height(browser, page, spec.html, width)
                page.write_text(wrapper(spec.html, width, h, probe=False), encoding="utf-8")
                _run(browser, f"--window-size={width},{h + _CHROME}", f"--screenshot={png}",
                     page.as_uri())
                print(f"{png.relative_to(REPO)}  {width}x{h}  {spec.subject}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
