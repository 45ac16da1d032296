"""The HTTP API beside the web chat: JSON for any tool (curl, a portal, a bot, a spreadsheet macro).

    POST   /api/ask               {"question", "history"?, "doc"?, "top_k"?, "answerer"?} -> `assistant ask --json`
    GET    /api/documents         the library, as `assistant list --json`
    GET    /api/documents/{name}  one document
    POST   /api/documents         multipart upload (field `files`), the library panel's checks
    DELETE /api/documents/{name}  remove one document
    GET    /api/health            index build, documents, model (no key needed: for monitoring)
    GET    /api/docs, /api/openapi.json   this API, described
    /v1/models, /v1/chat/completions      OpenAI-compatible chat (assistant/web/chat.py)

The routes run on the page's server (`server.create_app`), behind its Host check and body limits; answers
go through the page's `Gate`. Who may call: `keys.Access`. Errors: `errors.ApiError`. docs/api.md has examples.
"""

from __future__ import annotations

import html
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import HTMLResponse, JSONResponse, Response

from assistant import __version__
from assistant.render.json import answer_to_dict
from assistant.store.library import Entry
from assistant.web import chat
from assistant.web.errors import ApiError, install_handlers
from assistant.web.library import FAILED, Notice, Upload, client_name
from assistant.web.service import API_TOP_K_MAX, Service

__all__ = ["AskRequest", "install", "router"]

UPLOAD_PATH = "/api/documents"  # the one API path whose body may be an upload (server._BodyLimit)
STAFF = "市委网信办目前有多少在编人员？"
EXAMPLE_ANSWER = {
    "question": STAFF,
    "found": True,
    "answer": "目前市委网信办仅有在编人员 11 人，人员较少[1]。",
    "sources": [{"rank": 1, "doc": "洛阳-关于中央、省委相关会议精神及我市贯彻落实意见的汇报-2016-11-21.txt",
                 "section": "四、提请领导小组研究解决的问题 › 1.关于加强市委网信办机构建设",
                 "text": "…目前市委网信办仅有在编人员 11 人，人员较少…", "used": [[0, 24]], "id": "…"}],
    "resolved_question": STAFF,
    "note": "",
    "answerer": "extractive",
}  # fmt: skip
ERROR_EXAMPLE = {"error": {"code": "question_too_long", "message": "问题太长（612 字），请控制在 500 字以内。",
                           "type": "invalid_request_error"}}  # fmt: skip


class AskRequest(BaseModel):
    """A question about the documents."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": STAFF},
                                        {"question": "那县里呢？", "history": ["市委网信办目前有多少在编人员？"]}]},
    )  # fmt: skip

    question: str = Field(description="问题（不超过 max_question_chars 字，默认 500）", examples=[STAFF])
    history: list[str] | None = Field(
        None, description="此前的问题，从早到晚，用于理解追问（如“那县里呢？”）", examples=[[STAFF]]
    )
    doc: str | None = Field(None, description="只从这份文档回答：GET /api/documents 列出的 name")
    top_k: int | None = Field(None, ge=1, le=API_TOP_K_MAX, description="来源数量（默认 5）")
    answerer: Literal["extractive", "llm"] | None = Field(
        None, description="extractive：摘录原文（默认）；llm：语言模型作答（需服务端启用）"
    )


def _errors(*statuses: int) -> dict:
    """The error responses of a route, for the schema."""
    return {s: {"description": "错误", "content": {"application/json": {"example": ERROR_EXAMPLE}}} for s in statuses}


def router(service: Service) -> APIRouter:
    """The /api routes over `service`."""

    def reader(request: Request) -> None:
        service.access.check(request, "read")

    def writer(request: Request) -> None:
        service.access.check(request, "write")

    read, write = [Depends(reader)], [Depends(writer)]
    api = APIRouter(prefix="/api", tags=["问答与文档"])

    @api.post("/ask", dependencies=read, summary="提问",
              responses={200: {"content": {"application/json": {"example": EXAMPLE_ANSWER}}},
                         **_errors(400, 401, 403, 429, 503)})  # fmt: skip
    def ask(body: AskRequest) -> JSONResponse:
        """回答一个关于文档的问题，返回与 `assistant ask --json` 完全相同的 JSON：答案文字（带 [n] 引用）、
        来源段落、是否找到答案。报告中没有答案时 `found` 为 false，答案说“报告中没有找到…”。"""
        _, answer = service.final(body.question, history=body.history, top_k=body.top_k, answerer=body.answerer,
                                  doc=body.doc)  # fmt: skip
        return JSONResponse(answer_to_dict(answer))

    @api.get("/documents", dependencies=read, summary="文档列表", responses=_errors(401, 403))
    def documents() -> dict:
        """文档库中的文档（name、title、format、pages、passages、added、size、status），同 `assistant list --json`。
        `name` 即 /api/ask 的 `doc`。"""
        service.shelf.follow()
        return {"documents": [asdict(e) for e in service.shelf.documents()]}

    @api.get("/documents/{name:path}", dependencies=read, summary="一份文档", responses=_errors(401, 403, 404))
    def document(name: Annotated[str, PathParam(description="文档名，如 报告.docx")]) -> dict:
        """一份文档的信息。"""
        return asdict(_entry(service, name))

    @api.post("/documents", dependencies=write, summary="上传文档", responses=_errors(400, 401, 403, 413))
    def upload(
        files: Annotated[list[UploadFile], File(description="一个或多个文件（.txt .md .docx .pdf .html）")],
    ) -> JSONResponse:
        """添加文档并重建索引（只嵌入新文档），检查与网页的“文档”面板相同：类型、大小、能否读出文字、是否重复。
        每个文件一条结果；没有一个文件能加入时返回 400。需要可修改文档库的密钥（或本机）。"""
        return _upload(service, files)

    @api.delete("/documents/{name:path}", dependencies=write, summary="删除文档",
                responses=_errors(401, 403, 404, 409))  # fmt: skip
    def remove(name: str) -> dict:
        """删除一份文档并重建索引。最后一份文档不能删除（409）。"""
        _entry(service, name)
        notices = service.shelf.remove(name)
        if any(n.kind == "done" for n in notices):
            return {"removed": name, "message": notices[0].text}
        said = notices[0] if notices else Notice("refused", FAILED)
        if said.kind == "same":
            raise ApiError(404, "document_not_found", said.text)
        raise ApiError(500 if said.text == FAILED else 409, "remove_refused", said.text)

    @api.get("/health", summary="运行状态（监控用，不需要密钥）", openapi_extra={"security": []})
    def health() -> dict:
        """索引版本、文档数、模型、排队情况；不含文档内容，不需要密钥。"""
        current = service.shelf.follow()
        gate = service.gate
        return {
            "status": "ok",
            "version": __version__,
            "index": {"build": current.index.folder.name, "documents": len(current.index.documents),
                      "passages": len(current.index.passages)},
            "model": service.settings.model,
            "answerers": chat.model_ids(service.settings),
            "queue": {"pending": gate.pending, "limit": gate.workers + gate.waiting},
        }  # fmt: skip

    return api


def _entry(service: Service, name: str) -> Entry:
    service.shelf.follow()
    found = next((e for e in service.shelf.documents() if e.name == name), None)
    if found is None:
        raise ApiError(404, "document_not_found", f"文档库中没有 {name}（GET /api/documents 列出文档）。")
    return found


def _upload(service: Service, files: list[UploadFile]) -> JSONResponse:
    """Each file saved under its own name (the name it gets in the library) in a private folder, then added."""
    folder = Path(tempfile.mkdtemp(prefix="assistant-upload-"))
    try:
        uploads = []
        for n, file in enumerate(files):
            name = client_name(file.filename)
            path = folder / str(n) / _stored_name(file.filename)
            path.parent.mkdir()
            with path.open("wb") as out:
                shutil.copyfileobj(file.file, out, 1 << 20)
            uploads.append(Upload(name, path))
        notices = service.shelf.add(uploads)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results = [{"status": n.kind, "message": n.text, "file": n.file, "name": n.name} for n in notices]
    if any(n.kind in ("done", "same") for n in notices):
        return JSONResponse({"results": results, "documents": [asdict(e) for e in service.shelf.documents()]})
    if any(n.text == FAILED for n in notices):
        raise ApiError(500, "library_change_failed", FAILED)
    raise ApiError(400, "upload_refused", " ".join(n.text for n in notices) or "没有收到文件。")


def _stored_name(filename: str | None) -> str:
    """The uploaded file's own name (the one it gets in the library): its last part, no leading dot, at most
    200 bytes with its suffix kept; "document" when it has none."""
    name = (filename or "").replace("\0", "").replace("\\", "/").split("/")[-1].strip().lstrip(".") or "document"
    suffix = Path(name).suffix if len(Path(name).suffix) <= 10 else ""
    stem = name[: len(name) - len(suffix)]
    while len((stem + suffix).encode()) > 200:
        stem = stem[:-1]
    return stem + suffix


def _unknown(routers: list[APIRouter]) -> Callable[[Request], Response]:
    """The answer to any other /api or /v1 path: 405 when the path exists with another method, else 404 (JSON,
    not the page's)."""
    known = [(route.path_regex, route.methods) for r in routers for route in r.routes if isinstance(route, APIRoute)]

    def unknown(request: Request) -> Response:
        methods = sorted({m for regex, allowed in known if regex.match(request.url.path) for m in allowed or ()})
        if methods:
            raise ApiError(405, "method_not_allowed", f"这个接口只接受 {'、'.join(methods)} 请求。",
                           {"Allow": ", ".join(methods)})  # fmt: skip
        raise ApiError(404, "not_found", "没有这个接口，请查看 /api/docs。")

    return unknown


def install(app: FastAPI, service: Service) -> None:
    """The API's routes, error handlers and description on `app` (before the page is mounted at /, which would
    otherwise answer these paths)."""
    install_handlers(app)
    routers = [router(service), chat.router(service)]
    for r in routers:
        app.include_router(r)
    app.add_api_route("/api/docs", _docs, include_in_schema=False)
    _declare_keys(app)
    unknown = _unknown(routers)
    for prefix in ("/api", "/v1"):
        for path in (prefix, prefix + "/{rest:path}"):
            app.add_api_route(path, unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                              include_in_schema=False)  # fmt: skip


def _declare_keys(app: FastAPI) -> None:
    """The schema says how to send a key (tools that import it, such as Postman, then ask for one)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "key": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "ASSISTANT_API_KEYS 中的密钥（设置了密钥时必需）",
                }
            }
            schema["security"] = [{"key": []}]
        return app.openapi_schema  # type: ignore[return-value]  (set by build())

    app.openapi = openapi  # type: ignore[method-assign]


def _docs(request: Request) -> HTMLResponse:
    """This API described from its OpenAPI schema, in one page that loads nothing from elsewhere (FastAPI's own
    pages fetch their scripts from a CDN, which an offline machine cannot reach)."""
    return HTMLResponse(docs_html(request.app.openapi()))


def docs_html(schema: dict) -> str:
    """The page of /api/docs: each route with its description, the request's examples and the response's."""
    esc = html.escape
    parts = [f"<h1>{esc(schema['info']['title'])} {esc(schema['info']['version'])}</h1>",
             f"<p>{esc(schema['info'].get('description', ''))}</p>",
             '<p>机器可读的描述：<a href="/api/openapi.json">/api/openapi.json</a></p>']  # fmt: skip
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            parts.append(f"<h2><code>{method.upper()} {esc(path)}</code> {esc(op.get('summary', ''))}</h2>")
            parts.append(f"<p>{esc(op.get('description', ''))}</p>")
            body = op.get("requestBody", {}).get("content", {})
            for kind, content in body.items():
                examples = _examples(content.get("schema", {}), schema)
                for example in examples:
                    parts.append(f"<p>请求（{esc(kind)}）：</p><pre>{esc(_json(example))}</pre>")
                if not examples:
                    parts.append(f"<p>请求：{esc(kind)}</p>")
            ok = op.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
            if "example" in ok:
                parts.append(f"<p>回答：</p><pre>{esc(_json(ok['example']))}</pre>")
    style = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}" \
            "pre{background:#f4f4f5;padding:.75rem;overflow:auto}"  # fmt: skip
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{esc(schema["info"]["title"])}</title>'
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")  # fmt: skip


def _examples(ref: dict, schema: dict) -> list:
    if "$ref" in ref:
        ref = schema["components"]["schemas"].get(ref["$ref"].rsplit("/", 1)[-1], {})
    return list(ref.get("examples", []))


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
