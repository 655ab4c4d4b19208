"""What the scripted OpenAI double checks in a request, and the real API's error shapes."""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ERRORS: dict[int, tuple[str, str, str | None]] = {
    429: ("Rate limit reached for {model} in organization org-double on requests per min "
          "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.", "requests",
          "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!",
          "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = (
            status, message, type_, param, code)

    def response(self) -> web.Response:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}
        return web.json_response(body, status=self.status,
                                 headers={"x-request-id": f"req_{secrets.token_hex(12)}"})


def check_body(body: Any) -> None:
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request body: expected a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ApiError(400, "you must provide a model parameter")
    if body.get("stream"):
        raise ApiError(400, "stream=true is not supported by the scripted double.",
                       param="stream")
    messages = body.get("messages")
    if messages is None:
        raise ApiError(400, "Missing required parameter: 'messages'.", param="messages",
                       code="missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "Invalid 'messages': empty array. Expected an array with minimum "
                            "length 1, but got an empty array instead.", param="messages",
                       code="empty_array")
    _check_messages(messages)
    _check_tools(body)


def _check_messages(messages: list[Any]) -> None:
    pending: dict[str, int] = {}
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ApiError(400, f"Invalid type for 'messages[{i}]': expected an object.",
                           param=f"messages[{i}]", code="invalid_type")
        role = message.get("role")
        if role not in ROLES:
            raise ApiError(400, f"Invalid value: '{role}'. Supported values are: 'system', "
                                "'assistant', 'user', 'function', 'tool', and 'developer'.",
                           param=f"messages[{i}].role", code="invalid_value")
        if role != "tool" and pending:
            raise _unanswered(pending)
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise ApiError(400, f"Invalid type for 'messages[{i}].content': expected one of a "
                                "string or array of objects.", param=f"messages[{i}].content",
                           code="invalid_type")
        if role in ("system", "developer", "user") and content is None:
            raise ApiError(400, f"Missing required parameter: 'messages[{i}].content'.",
                           param=f"messages[{i}].content", code="missing_required_parameter")
        if role == "assistant":
            for j, call in enumerate(message.get("tool_calls") or []):
                _check_call(call, f"messages[{i}].tool_calls[{j}]")
                pending[call["id"]] = i
            if content is None and not message.get("tool_calls"):
                raise ApiError(400, f"Missing required parameter: 'messages[{i}].content'.",
                               param=f"messages[{i}].content",
                               code="missing_required_parameter")
        if role == "tool":
            if pending.pop(message.get("tool_call_id", ""), None) is None:
                raise ApiError(400, "Invalid parameter: messages with role 'tool' must be a "
                                    "response to a preceeding message with 'tool_calls'.",
                               param=f"messages.[{i}].role")
    if pending:
        raise _unanswered(pending)


def _unanswered(pending: dict[str, int]) -> ApiError:
    index = min(pending.values())
    return ApiError(400, "An assistant message with 'tool_calls' must be followed by tool "
                         "messages responding to each 'tool_call_id'. The following "
                         f"tool_call_ids did not have response messages: {', '.join(pending)}",
                    param=f"messages.[{index}].role")


def _check_call(call: Any, where: str) -> None:
    if not isinstance(call, dict) or not isinstance(call.get("id"), str):
        raise ApiError(400, f"Missing required parameter: '{where}.id'.", param=f"{where}.id",
                       code="missing_required_parameter")
    function = call.get("function")
    if call.get("type") != "function" or not isinstance(function, dict):
        raise ApiError(400, f"Missing required parameter: '{where}.function'.",
                       param=f"{where}.function", code="missing_required_parameter")
    if not isinstance(function.get("arguments"), str):
        raise ApiError(400, f"Invalid type for '{where}.function.arguments': expected a string, "
                            "but got an object instead.", param=f"{where}.function.arguments",
                       code="invalid_type")


def _check_tools(body: dict[str, Any]) -> None:
    tools = body.get("tools")
    if tools is None:
        if body.get("tool_choice") not in (None, "none"):
            raise ApiError(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed "
                                "when 'tools' are specified.", param="tool_choice")
        return
    if not isinstance(tools, list):
        raise ApiError(400, "Invalid type for 'tools': expected an array of objects.",
                       param="tools", code="invalid_type")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or "type" not in tool:
            raise ApiError(400, f"Missing required parameter: 'tools[{i}].type'.",
                           param=f"tools[{i}].type", code="missing_required_parameter")
        function = tool.get("function")
        if tool["type"] != "function" or not isinstance(function, dict):
            raise ApiError(400, f"Missing required parameter: 'tools[{i}].function'.",
                           param=f"tools[{i}].function", code="missing_required_parameter")
        if not TOOL_NAME.match(str(function.get("name", ""))):
            raise ApiError(400, f"Invalid 'tools[{i}].function.name': string does not match "
                                "pattern. Expected a string that matches the pattern "
                                "'^[a-zA-Z0-9_-]+$'.", param=f"tools[{i}].function.name",
                           code="invalid_value")
        parameters = function.get("parameters")
        if parameters is not None and (not isinstance(parameters, dict)
                                       or parameters.get("type", "object") != "object"):
            raise ApiError(400, f"Invalid schema for function '{function['name']}': schema must "
                                "be a JSON Schema of 'type: \"object\"'.",
                           param=f"tools[{i}].function.parameters",
                           code="invalid_function_parameters")
    if body.get("tool_choice") not in (None, "none", "auto", "required") \
            and not isinstance(body.get("tool_choice"), dict):
        raise ApiError(400, f"Invalid value: '{body['tool_choice']}'. Supported values are: "
                            "'none', 'auto', and 'required'.", param="tool_choice",
                       code="invalid_value")
