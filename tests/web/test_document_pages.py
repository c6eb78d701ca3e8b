"""Documents on the agreement page: listed with who uploaded them, uploaded with the page's form
(multipart, CSRF, the agreement's version), downloaded, and withdrawn by an administrator — each
through the same actions as the API."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from engine.demo.signed_copy import signed_copy
from engine.statuses import DocumentKind
from tests.support import World
from tests.web.helpers import sign_in, text_of

PDF = signed_copy("Collaboration agreement", ["Signed in Montevideo."])


async def _version(world: World, agreement_id: int) -> str:
    return str((await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}"))["version"])


async def test_staff_upload_download_and_an_administrator_withdraws(client: httpx.AsyncClient, world: World,
                                                                    app: FastAPI) -> None:
    agreement = await world.draft()
    csrf = await sign_in(client, world.metro_staff.token)
    first = await client.get(f"/agreements/{agreement['id']}")
    assert 'enctype="multipart/form-data"' in first.text
    assert "No documents yet." in text_of(first.text)

    answer = await client.post(f"/agreements/{agreement['id']}/documents", data={
        "csrf": csrf, "version": await _version(world, agreement["id"]), "form": "upload",
        "kind": DocumentKind.SIGNED_AGREEMENT, "title": "Signed copy"},
        files={"file": ("signed.pdf", PDF, "application/pdf")})
    assert answer.status_code == 303, text_of(answer.text)
    page = text_of((await client.get(answer.headers["location"])).text)
    assert "Document uploaded." in page
    assert "Signed agreement Signed copy (signed.pdf)" in page
    assert f"{world.metro_staff.name}, 23 November 2026" in page
    [document] = (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}/documents"))["items"]
    assert "Document “Signed copy” uploaded (signed agreement, signed.pdf)" in page  # the history

    download = await client.get(f"/documents/{document['id']}/content")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment;")

    # A forged file is refused beside the file field, with what was typed kept.
    forged = await client.post(f"/agreements/{agreement['id']}/documents", data={
        "csrf": csrf, "version": await _version(world, agreement["id"]), "form": "upload",
        "kind": DocumentKind.OTHER, "title": "Minutes"},
        files={"file": ("minutes.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf")})
    assert forged.status_code == 415
    assert re.search(r'id="upload-file-problem">[^<]*named as a PDF', forged.text)
    assert 'value="Minutes"' in forged.text

    # Staff are offered no withdrawal; an administrator withdraws with a reason.
    assert f'action="/documents/{document["id"]}/withdraw"' not in (await client.get(
        f"/agreements/{agreement['id']}")).text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as admin:
        admin_csrf = await sign_in(admin, world.admin.token)
        assert f'action="/documents/{document["id"]}/withdraw"' in (await admin.get(
            f"/agreements/{agreement['id']}")).text
        withdrawn = await admin.post(f"/documents/{document['id']}/withdraw", data={
            "csrf": admin_csrf, "version": await _version(world, agreement["id"]),
            "form": f"withdraw-document-{document['id']}", "reason": "Page 3 unsigned."})
        assert withdrawn.status_code == 303, text_of(withdrawn.text)
        page = text_of((await admin.get(withdrawn.headers["location"])).text)
    assert "Document withdrawn." in page
    assert "Withdrawn 23 November 2026: “Page 3 unsigned.”" in page


async def test_a_partner_is_offered_evidence_of_their_own_deliverables_only(client: httpx.AsyncClient,
                                                                           world: World) -> None:
    agreement = await world.ready()
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    area = agreement["areas"][0]["id"]
    owned = await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                           json={"title": "Peer learning report", "owner_id": world.metro_partner.id})
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                   json={"title": "Joint statement", "owner_id": world.metro_staff.id})
    csrf = await sign_in(client, world.metro_partner.token)
    page = (await client.get(f"/agreements/{agreement['id']}")).text
    form = page[page.index(f'action="/agreements/{agreement["id"]}/documents"'):]
    form = form[:form.index("</form>")]
    assert re.findall(r'<option value="([a-z_]+)"', form) == [DocumentKind.EVIDENCE]
    assert "Peer learning report" in form
    assert "Joint statement" not in form
    answer = await client.post(f"/agreements/{agreement['id']}/documents", data={
        "csrf": csrf, "version": await _version(world, agreement["id"]), "form": "upload",
        "kind": DocumentKind.EVIDENCE, "deliverable_id": str(owned["id"])},
        files={"file": ("report.pdf", PDF, "application/pdf")})
    assert answer.status_code == 303, text_of(answer.text)
