"""Each recipient reads their mail in their own language (engine/i18n.py): one reminder about one
agreement goes out in French, Spanish and English, subject, text and HTML, with a Content-Language
header; and the sign-in link mail too. Mail over a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from email.message import EmailMessage

import httpx
import pytest

from api.web import link_mail
from engine.clock import FixedClock
from engine.settings import Settings
from tests.notifications.conftest import MakeWorker, SmtpServer
from tests.notifications.helpers import active_agreement, address, at, subject, until
from tests.support import World
from tests.web.helpers import csrf_of


@pytest.fixture
def settings(settings: Settings, smtp: SmtpServer) -> Settings:
    """The app mails sign-in links to the test's SMTP server."""
    return settings.model_copy(update={"smtp_url": smtp.url})


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    assert body is not None
    return " ".join(str(body.get_content()).split())


async def test_one_reminder_goes_out_in_each_recipients_language(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    # A French-speaking partner at UCLG ASPAC, named a focal point by their own party's staff; a
    # Spanish-speaking Metropolis staff member; UCLG ASPAC's staff focal point chose nothing (English).
    await world.ok("aspac_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.aspac_partner.id, "kind": "focal_point"})
    await world.ok("aspac_partner", "PATCH", f"/people/{world.aspac_partner.id}", json={"language": "fr"})
    await world.ok("admin", "PATCH", f"/people/{world.metro_staff.id}", json={"language": "es"})
    await worker.run_pass(at("2027-11-01T10:00"))  # 30 days before the review on 1 December 2027

    mails = {address(m): m for m in smtp.messages}
    french = mails["aspac_partner@aspac.example"]
    assert french["Content-Language"] == "fr"
    # The workflow file's words too: the reminder's title, and what a partner is asked to do.
    assert subject(french) == f"Révision à mener : {agreement['title']}"  # French puts a space before the colon
    assert "Que faire : Le personnel des parties convient d’une date de révision" in part(french, "plain")
    assert part(french, "plain").startswith(f"Bonjour {world.aspac_partner.name},")
    assert "Date de la révision : 1 décembre 2027 (dans 30 jours)" in part(french, "plain")
    assert "Que faire :" in part(french, "plain")
    assert '<html lang="fr">' in part(french, "html")
    assert "Ouvrir l’accord dans Accord" in part(french, "html")
    assert "Vous recevez ce message d’Accord" in part(french, "html")

    spanish = mails["metro_staff@metropolis.example"]
    assert spanish["Content-Language"] == "es"
    assert subject(spanish) == f"Revisión pendiente: {agreement['title']}"
    assert "Qué hacer: Acuerde con las demás partes una fecha para revisar el acuerdo" in part(spanish, "plain")
    assert part(spanish, "plain").startswith(f"Estimado/a {world.metro_staff.name}:")
    assert "Fecha de la revisión: 1 de diciembre de 2027 (dentro de 30 días)" in part(spanish, "plain")
    assert "Qué hacer:" in part(spanish, "plain")
    assert '<html lang="es">' in part(spanish, "html")
    assert "Abrir el acuerdo en Accord" in part(spanish, "html")

    english = mails["aspac_staff@aspac.example"]
    assert english["Content-Language"] == "en"
    assert subject(english) == f"Review due: {agreement['title']}"
    assert "Review date: 1 December 2027 (in 30 days)" in part(english, "plain")
    assert "What to do:" in part(english, "plain")
    for other in (french, spanish):
        for sentence in ("What to do:", "Dear ", "Open the agreement in Accord", "because you are named"):
            assert sentence not in part(other, "plain") + part(other, "html")


async def test_the_sign_in_link_mail_is_in_the_persons_organisations_language(
        world: World, client: httpx.AsyncClient, smtp: SmtpServer) -> None:
    organisation = await world.ok("admin", "POST", "/organisations", json={
        "name": "Ciudad de Montevideo", "kind": "local_government", "timezone": "America/Montevideo",
        "language": "es"})
    await world.ok("admin", "POST", "/people", json={
        "name": "Lucía Pérez", "email": "lucia@montevideo.example", "organisation_id": organisation["id"],
        "role": "staff"})
    form = await client.get("/sign-in")
    await client.post("/sign-in/link", data={"email": "lucia@montevideo.example", "csrf": csrf_of(form.text)})
    await link_mail.settle()
    await until(lambda: len(smtp.messages) == 1)
    [mail] = smtp.messages
    assert mail["Subject"] == "Su enlace para iniciar sesión en Accord"
    assert mail["Content-Language"] == "es"
    assert part(mail, "plain").startswith("Estimado/a Lucía Pérez:")
    assert "El enlace funciona una sola vez, hasta el 23 de noviembre de 2026 a las" in part(mail, "plain")
    assert "(America/Montevideo)" in part(mail, "plain")
    assert "Iniciar sesión en Accord" in part(mail, "html")
