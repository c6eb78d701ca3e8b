"""Documents kept with an agreement: upload, list, read, download, withdraw; and moving an
agreement to a newer version of its workflow (whose guards may ask for documents).

An upload's file is stored by content first (`engine.documents.store`), then recorded through
the one way in (`AttachDocument`), so the agreement's history and version follow it as they
follow any change. A document is reached exactly as its agreement is: out of reach is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response, UploadFile
from fastapi.responses import FileResponse

from api.deps import CurrentActor, IdPath, IfMatchDep, PageDep, SessionDep, SettingsDep, WhenDep
from api.links import LOCATION
from engine import documents
from engine.agreements import actions, reading, service, snapshot
from engine.agreements.values import DocumentValue
from engine.schemas import (
    AgreementRead,
    DocumentKindValue,
    DocumentRead,
    DocumentUpload,
    DocumentWithdraw,
    Id,
    Page,
    Title,
    WorkflowVersionMove,
)
from engine.settings import Settings

router = APIRouter(tags=["documents"])

_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such document, or not one you can see"}}
_ETAG = {"ETag": {"description": "the agreement's version after the write", "schema": {"type": "string"}}}
_REFUSED: dict[int | str, dict[str, Any]] = {
    413: {"description": "the file is larger than ACCORD_DOCUMENT_MAX_BYTES (25 MB unless configured)"},
    415: {"description": "the file is not an allowed type (PDF, PNG, JPEG, DOCX, XLSX, ODT unless configured), "
                         "or its content is not what its extension says"}}


@router.post("/agreements/{agreement_id}/documents", status_code=201, response_model=DocumentRead, responses={
    201: {"description": "stored and recorded", "headers": {**_ETAG, **LOCATION}},
    404: {"description": "no such agreement, or not one you can see"}, **_REFUSED})
async def upload_document(agreement_id: IdPath, file: UploadFile, kind: Annotated[DocumentKindValue, Form()],
                          session: SessionDep, actor: CurrentActor, when: WhenDep, settings: SettingsDep,
                          if_match: IfMatchDep, response: Response, title: Annotated[Title | None, Form()] = None,
                          deliverable_id: Annotated[Id | None, Form()] = None,
                          amendment_id: Annotated[Id | None, Form()] = None) -> DocumentRead:
    """Keep a document with the agreement (multipart: `file`, `kind`, optional `title`,
    `deliverable_id`, `amendment_id`). Staff of a party upload any kind; a partner uploads
    evidence of a deliverable they own. Recorded in the agreement's history."""
    data = DocumentUpload(kind=kind, title=title, deliverable_id=deliverable_id, amendment_id=amendment_id)
    await snapshot.load(session, agreement_id, actor)  # out of reach: 404 before anything is stored
    filename = file.filename or "document"
    stored = await documents.store(file.read, filename, settings)
    outcome = await service.apply(session, agreement_id, actor, when,
                                  actions.AttachDocument(data, filename, stored), if_match=if_match)
    document = outcome.added()
    assert isinstance(document, DocumentValue)
    response.headers["ETag"] = f'"{outcome.agreement.version}"'
    response.headers["Location"] = f"/api/v1/documents/{document.id}"
    return reading.read_document(document)


@router.get("/agreements/{agreement_id}/documents", response_model=Page[DocumentRead], responses={
    404: {"description": "no such agreement, or not one you can see"}})
async def list_documents(agreement_id: IdPath, session: SessionDep, actor: CurrentActor,
                         page: PageDep) -> Page[DocumentRead]:
    """The agreement's documents, withdrawn ones included (`withdrawn_at` set), oldest first."""
    agreement = await snapshot.load(session, agreement_id, actor)
    chosen = agreement.documents[page.offset:page.offset + page.limit]
    return Page(items=[reading.read_document(d) for d in chosen], total=len(agreement.documents),
                limit=page.limit, offset=page.offset)


async def _document(session: SessionDep, document_id: int, actor: CurrentActor) -> DocumentValue:
    agreement = await snapshot.load(session, await reading.agreement_of_document(session, document_id, actor),
                                    actor)
    document = agreement.document(document_id)
    assert document is not None
    return document


@router.get("/documents/{document_id}", response_model=DocumentRead, responses=_FOUND)
async def get_document(document_id: IdPath, session: SessionDep, actor: CurrentActor) -> DocumentRead:
    return reading.read_document(await _document(session, document_id, actor))


@router.get("/documents/{document_id}/content", response_class=FileResponse, responses={
    200: {"description": "the file as uploaded, as an attachment of its stored type",
          "content": {"application/octet-stream": {}}}, **_FOUND})
async def get_document_content(document_id: IdPath, session: SessionDep, actor: CurrentActor,
                               settings: SettingsDep) -> FileResponse:
    """The document's bytes: `Content-Disposition: attachment` with its file name, its stored
    type, never sniffed by the browser (`X-Content-Type-Options: nosniff`)."""
    return download(settings, await _document(session, document_id, actor))


def download(settings: Settings, document: DocumentValue) -> FileResponse:
    """The document's stored file as an attachment (the API's and the pages' download)."""
    path = documents.open_content(settings, document.sha256)
    return FileResponse(path, media_type=document.content_type, filename=document.filename,
                        content_disposition_type="attachment",
                        headers={"X-Content-Type-Options": "nosniff", "ETag": f'"{document.sha256}"'})


@router.post("/documents/{document_id}/withdraw", response_model=DocumentRead, responses={
    200: {"description": "withdrawn", "headers": _ETAG}, 403: {"description": "not an administrator"},
    409: {"description": "already withdrawn"}, **_FOUND})
async def withdraw_document(document_id: IdPath, data: DocumentWithdraw, session: SessionDep, actor: CurrentActor,
                            when: WhenDep, if_match: IfMatchDep, response: Response) -> DocumentRead:
    """An administrator withdraws a document, saying why: it stays listed (withdrawn), its
    content stays, the history keeps the reason, and it no longer meets a workflow's guard."""
    agreement_id = await reading.agreement_of_document(session, document_id, actor)
    outcome = await service.apply(session, agreement_id, actor, when,
                                  actions.WithdrawDocument(document_id, data.reason), if_match=if_match)
    response.headers["ETag"] = f'"{outcome.agreement.version}"'
    document = outcome.agreement.document(document_id)
    assert document is not None
    return reading.read_document(document)


@router.post("/agreements/{agreement_id}/workflow-version", response_model=AgreementRead, responses={
    200: {"description": "moved (or already there)", "headers": _ETAG}, 403: {"description": "not an administrator"},
    404: {"description": "no such agreement, or not one you can see"},
    409: {"description": "the agreement's state does not exist in that version"}})
async def move_workflow_version(agreement_id: IdPath, data: WorkflowVersionMove, session: SessionDep,
                                actor: CurrentActor, when: WhenDep, if_match: IfMatchDep) -> Response:
    """An administrator moves an agreement to a newer version of its workflow, only when the
    state it is in exists there; recorded in its history."""
    outcome = await service.apply(session, agreement_id, actor, when, actions.MoveWorkflow(data.version),
                                  if_match=if_match)
    body = reading.read_agreement(outcome.agreement, actor, when)
    return Response(content=body.model_dump_json(), media_type="application/json",
                    headers={"ETag": f'"{body.version}"'})
