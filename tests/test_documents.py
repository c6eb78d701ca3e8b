"""Documents: stored by content in a real folder, reached as their agreement is, asked for by
version 2 of the collaboration agreement's workflow; and moving an agreement to that version."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine import i18n
from engine.demo.signed_copy import signed_copy
from engine.documents import size_in_words
from engine.settings import Settings
from engine.statuses import DocumentKind, Language
from tests.support import World

LIMIT = 8192  # the largest document these tests allow (ACCORD_DOCUMENT_MAX_BYTES)
PDF = signed_copy("Collaboration agreement", ["Signed in Montevideo on 6 April 2019."])
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")  # a PNG's first bytes
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"document_max_bytes": LIMIT})


async def upload(world: World, who: str, agreement_id: int, kind: str = DocumentKind.OTHER,
                 content: bytes = PDF, filename: str = "copy.pdf", **fields: Any) -> httpx.Response:
    return await world.call(who, "POST", f"/agreements/{agreement_id}/documents",
                            files={"file": (filename, content, "application/octet-stream")},
                            data={"kind": kind, **{k: str(v) for k, v in fields.items()}})


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


async def test_upload_list_and_download_give_back_the_same_bytes(world: World, documents_dir: Path) -> None:
    agreement = await world.draft()
    response = await upload(world, "metro_staff", agreement["id"], title="Draft for comments")
    assert response.status_code == 201, response.text
    document = response.json()
    sha256 = hashlib.sha256(PDF).hexdigest()
    assert response.headers["location"] == f"/api/v1/documents/{document['id']}"
    assert {k: document[k] for k in ("agreement_id", "kind", "title", "filename", "content_type", "size",
                                     "sha256", "uploaded_by")} == {
        "agreement_id": agreement["id"], "kind": "other", "title": "Draft for comments", "filename": "copy.pdf",
        "content_type": "application/pdf", "size": len(PDF), "sha256": sha256,
        "uploaded_by": world.metro_staff.id}
    assert stored_files(documents_dir) == [documents_dir / sha256[:2] / sha256]

    listed = await world.ok("aspac_partner", "GET", f"/agreements/{agreement['id']}/documents")
    assert (listed["total"], [d["id"] for d in listed["items"]]) == (1, [document["id"]])
    assert (await world.ok("aspac_staff", "GET", f"/documents/{document['id']}"))["sha256"] == sha256

    content = await world.call("aspac_staff", "GET", f"/documents/{document['id']}/content")
    assert content.status_code == 200
    assert hashlib.sha256(content.content).hexdigest() == sha256
    assert content.headers["content-type"] == "application/pdf"
    assert content.headers["content-disposition"].startswith("attachment;")
    assert 'filename="copy.pdf"' in content.headers["content-disposition"]
    assert content.headers["x-content-type-options"] == "nosniff"

    # The same content again is a second document, stored once; the upload is in the history.
    again = await upload(world, "aspac_staff", agreement["id"], filename="../../etc/passwd.pdf")
    assert again.json()["filename"] == "passwd.pdf"
    assert stored_files(documents_dir) == [documents_dir / sha256[:2] / sha256]
    history = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}/history")
    added = [h for h in history["items"] if h["event"] == "document_added"]
    assert [h["data"]["sha256"] for h in added] == [sha256, sha256]
    assert added[0]["diff"]["parts"][0]["part"] == "document"


def _workbook() -> bytes:
    import io

    import openpyxl

    book, out = openpyxl.Workbook(), io.BytesIO()
    book.active.append(["Deliverable", "Done"])  # type: ignore[union-attr]
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(("filename", "content", "content_type"), [
    ("work plan.xlsx", _workbook(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("photo.PNG", PNG, "image/png"),
])
async def test_other_allowed_types_are_kept_with_the_type_their_bytes_say(world: World, filename: str,
                                                                         content: bytes, content_type: str) -> None:
    agreement = await world.draft()
    response = await upload(world, "metro_staff", agreement["id"], content=content, filename=filename)
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == content_type
    download = await world.call("metro_staff", "GET", f"/documents/{response.json()['id']}/content")
    assert download.headers["content-type"] == content_type


@pytest.mark.parametrize(("filename", "content", "says"), [
    ("work plan.docx", _workbook(), "its content is a application/vnd.openxmlformats-officedocument.spreadsheetml"),
    ("signed.pdf", EXECUTABLE, "its content is a application/x-msdownload file"),
    ("signed.pdf", PNG, "its content is a image/png file"),
    ("signed.exe", EXECUTABLE, "not a type of document Accord keeps"),
    ("signed.pdf", b"", "is empty"),
])
async def test_a_file_that_is_not_what_its_name_says_is_415(world: World, documents_dir: Path, filename: str,
                                                            content: bytes, says: str) -> None:
    agreement = await world.draft()
    response = await upload(world, "metro_staff", agreement["id"], content=content, filename=filename)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]
    assert "PDF (.pdf)" in response.json()["detail"]  # what to upload instead
    assert stored_files(documents_dir) == []  # nothing kept, not even a temporary file
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}/documents"))["total"] == 0


async def test_a_document_over_the_limit_is_413(world: World, documents_dir: Path) -> None:
    agreement = await world.draft()
    big = PDF + b"%" * LIMIT
    response = await upload(world, "metro_staff", agreement["id"], content=big)
    assert response.status_code == 413, response.text
    assert "larger than 8 KB, the most a document may be" in response.json()["detail"]  # LIMIT in words
    assert stored_files(documents_dir) == []
    # A body announced far over the limit is refused before it is read.
    huge = await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/documents",
                            content=b"x", headers={"Content-Length": str(LIMIT + 2_000_000),
                                                   "Content-Type": "multipart/form-data; boundary=x"})
    assert huge.status_code == 413
    assert "A document may be at most 8 KB." in huge.json()["detail"]


async def test_an_outsider_finds_no_document(world: World) -> None:
    agreement = await world.draft()
    document = (await upload(world, "metro_staff", agreement["id"])).json()
    for path in (f"/documents/{document['id']}", f"/documents/{document['id']}/content",
                 f"/agreements/{agreement['id']}/documents"):
        response = await world.call("amf_staff", "GET", path)
        assert response.status_code == 404, path
        assert "PDF" not in response.text
    assert (await upload(world, "amf_staff", agreement["id"])).status_code == 404


async def test_a_partner_uploads_evidence_of_a_deliverable_they_own_and_nothing_else(world: World) -> None:
    agreement = await world.ready()
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    area = agreement["areas"][0]["id"]
    owned = await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                           json={"title": "Peer learning report", "owner_id": world.metro_partner.id})
    other = await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                           json={"title": "Joint statement", "owner_id": world.metro_staff.id})

    evidence = await upload(world, "metro_partner", agreement["id"], DocumentKind.EVIDENCE,
                            deliverable_id=owned["id"])
    assert evidence.status_code == 201, evidence.text
    assert evidence.json()["deliverable_id"] == owned["id"]
    for kind, deliverable in ((DocumentKind.EVIDENCE, other["id"]), (DocumentKind.SIGNED_AGREEMENT, owned["id"])):
        refused = await upload(world, "metro_partner", agreement["id"], kind, deliverable_id=deliverable)
        assert refused.status_code == 403, refused.text
        assert "evidence (kind evidence) of a deliverable you own" in refused.json()["detail"]
    # Staff upload any kind; a deliverable of another agreement is named as an input error.
    assert (await upload(world, "aspac_staff", agreement["id"], DocumentKind.SIGNED_AGREEMENT)).status_code == 201
    wrong = await upload(world, "metro_staff", agreement["id"], DocumentKind.EVIDENCE, deliverable_id=99999)
    assert wrong.status_code == 422
    # The deliverable a document is evidence of stays with it.
    removed = await world.call("metro_staff", "DELETE", f"/deliverables/{owned['id']}")
    assert removed.status_code == 409
    assert "Peer learning report" in removed.json()["detail"]


async def _ready_on_latest(world: World) -> dict[str, Any]:
    agreement = await world.ready(workflow_version=None)
    assert agreement["workflow"] == {"name": "collaboration_agreement", "version": 2}
    assert (await world.fire("metro_staff", agreement["id"], "submit_for_signature")).status_code == 200
    assert (await world.fire("metro_staff", agreement["id"], "sign")).status_code == 200
    return agreement


async def test_version_2s_last_signature_waits_for_the_signed_copy(world: World) -> None:
    agreement = await _ready_on_latest(world)
    refused = await world.fire("aspac_staff", agreement["id"], "sign")
    assert refused.status_code == 422, refused.text
    assert any("Upload the signed agreement" in s and "signed_agreement" in s for s in refused.json()["unmet"])
    page = await world.ok("aspac_staff", "GET", f"/agreements/{agreement['id']}")
    assert any("signed_agreement" in s for s in page["unmet_conditions"]["sign"])

    copy = (await upload(world, "metro_staff", agreement["id"], DocumentKind.SIGNED_AGREEMENT)).json()
    # Withdrawn, it no longer counts; uploaded again, the signature completes the agreement.
    await world.ok("admin", "POST", f"/documents/{copy['id']}/withdraw", json={"reason": "Unsigned page 3."})
    assert (await world.fire("aspac_staff", agreement["id"], "sign")).status_code == 422
    assert (await upload(world, "metro_staff", agreement["id"], DocumentKind.SIGNED_AGREEMENT)).status_code == 201
    signed = await world.fire("aspac_staff", agreement["id"], "sign")
    assert signed.status_code == 200, signed.text
    assert signed.json()["state"] == "signed"


async def test_version_2s_terminate_needs_the_termination_letter(world: World) -> None:
    agreement = await _ready_on_latest(world)
    await upload(world, "metro_staff", agreement["id"], DocumentKind.SIGNED_AGREEMENT)
    assert (await world.fire("aspac_staff", agreement["id"], "sign")).status_code == 200
    refused = await world.fire("metro_staff", agreement["id"], "terminate", reason="Merged networks.")
    assert refused.status_code == 422
    assert any("Upload the termination letter" in s for s in refused.json()["unmet"])
    await upload(world, "metro_staff", agreement["id"], DocumentKind.TERMINATION_LETTER, filename="letter.pdf")
    ended = await world.fire("metro_staff", agreement["id"], "terminate", reason="Merged networks.")
    assert ended.status_code == 200, ended.text
    assert ended.json()["state"] == "terminated"


async def test_version_1_agreements_sign_and_terminate_without_documents(world: World) -> None:
    agreement = await world.signed()
    assert agreement["workflow"] == {"name": "collaboration_agreement", "version": 1}
    assert agreement["state"] == "signed"
    ended = await world.fire("metro_staff", agreement["id"], "terminate", reason="Merged networks.")
    assert ended.status_code == 200, ended.text


async def test_an_administrator_moves_an_agreement_to_the_newer_version(world: World) -> None:
    agreement = await world.ready()
    path = f"/agreements/{agreement['id']}/workflow-version"
    assert (await world.call("metro_staff", "POST", path, json={"version": 2})).status_code == 403
    for version, words in ((3, "no workflow “collaboration_agreement” version 3"), (0, "")):
        refused = await world.call("admin", "POST", path, json={"version": version})
        assert refused.status_code == 422
        assert words in refused.json()["detail"]
    moved = await world.call("admin", "POST", path, json={"version": 2})
    assert moved.status_code == 200, moved.text
    assert moved.json()["workflow"] == {"name": "collaboration_agreement", "version": 2}
    back = await world.call("admin", "POST", path, json={"version": 1})
    assert back.status_code == 422
    assert "never back" in back.json()["detail"]
    history = await world.ok("admin", "GET", f"/agreements/{agreement['id']}/history")
    assert history["items"][-1]["event"] == "workflow_version_changed"
    assert history["items"][-1]["data"]["workflow_version"] == [1, 2]
    # On version 2 now, its last signature asks for the signed copy.
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    await world.fire("metro_staff", agreement["id"], "sign")
    assert (await world.fire("aspac_staff", agreement["id"], "sign")).status_code == 422


async def test_an_administrator_withdraws_a_document_with_a_reason(world: World) -> None:
    agreement = await world.draft()
    document = (await upload(world, "metro_staff", agreement["id"])).json()
    path = f"/documents/{document['id']}/withdraw"
    assert (await world.call("metro_staff", "POST", path, json={"reason": "Wrong file."})).status_code == 403
    assert (await world.call("admin", "POST", path, json={"reason": " "})).status_code == 422
    withdrawn = await world.ok("admin", "POST", path, json={"reason": "Wrong file."})
    assert withdrawn["withdrawn_reason"] == "Wrong file."
    assert withdrawn["withdrawn_by"] == world.admin.id
    assert (await world.call("admin", "POST", path, json={"reason": "Again."})).status_code == 409
    listed = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}/documents")
    assert listed["items"][0]["withdrawn_at"] is not None
    content = await world.call("metro_staff", "GET", f"/documents/{document['id']}/content")
    assert content.content == PDF  # its content is kept
    history = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}/history")
    assert (history["items"][-1]["event"], history["items"][-1]["comment"]) == ("document_withdrawn", "Wrong file.")


@pytest.mark.parametrize(("size", "said"), [
    (512, {Language.EN: "512 bytes", Language.FR: "512 octets", Language.ES: "512 bytes"}),
    (1_048_575, {Language.EN: "1 MB", Language.FR: "1 Mo", Language.ES: "1 MB"}),  # never "1,024 KB"
    (2_621_440, {Language.EN: "2.5 MB", Language.FR: "2,5 Mo", Language.ES: "2,5 MB"}),
])
def test_a_document_s_size_reads_as_its_reader_writes_it(size: int, said: dict[Language, str]) -> None:
    for language, words in said.items():
        with i18n.reading(language):
            assert size_in_words(size).replace("\u202f", " ").replace("\xa0", " ") == words
