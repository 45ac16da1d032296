"""The HTTP API's errors: one JSON shape, a status that fits, one line of text, never a traceback.

`{"error": {"code": "question_too_long", "message": "问题太长（…）", "type": "invalid_request_error"}}`: `code`
is for programs, `message` for people, `type` the class of error as OpenAI's API names it (its clients read it).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

__all__ = ["API_PREFIXES", "ApiError", "error_body", "install_handlers", "is_api_path"]

log = logging.getLogger(__name__)

API_PREFIXES = ("/api", "/v1")  # the paths served by the API (everything else is the web chat)

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    503: "server_error",
}
# Starlette's own errors (an unknown path, a wrong method), by status.
_HTTP = {
    400: ("bad_request", "请求无效。"),
    404: ("not_found", "没有这个接口，请查看 /api/docs。"),
    405: ("method_not_allowed", "这个接口不接受这种请求方法。"),
    413: ("too_large", "请求太大，已拒绝。"),
}
INTERNAL = "处理请求时出了问题，请稍后再试。"


class ApiError(Exception):
    """A request the API refuses: HTTP status, a code for programs, a one-line message for people."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def is_api_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def error_body(status: int, code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "type": _TYPES.get(status, "server_error")}}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error_body(error.status, error.code, error.message), error.status, headers=error.headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    """The first problem of a request FastAPI could not read, as (code, one line)."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "invalid_json", "请求体不是有效的 JSON。"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    if kind == "model_attributes_type" or (kind == "dict_type" and not where):
        return "invalid_json", "请求体应为 JSON 对象（请加上 Content-Type: application/json）。"
    if kind == "missing":
        return "missing_field", f"缺少 {where}。"
    return "invalid_field", f"{where or '请求'} 无效：{first.get('msg', '')}。"


def install_handlers(app: FastAPI) -> None:
    """Every error of the API's routes as the JSON above; an unexpected one is logged, never shown."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        code, message = _validation_message(exc)
        return error_response(ApiError(400, code, message))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code, message = _HTTP.get(exc.status_code, ("error", str(exc.detail)))
        return error_response(ApiError(exc.status_code, code, message, dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("API request %s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(ApiError(500, "internal_error", INTERNAL))
