"""The simulator's own platform-api.yaml: an OpenAPI 3 description of exactly what it serves."""

from __future__ import annotations

import json
import re
from typing import Any

from .config import OPERATIONS, SimulatorConfig

_TAGS = {
    "list_activities": "Activities",
    "activity_details": "Activities",
    "campaign_statistics": "Campaigns",
    "list_campaigns": "Campaigns",
    "agent_status": "Agents",
    "media": "Media",
    "create_lead": "Leads",
    "update_lead": "Leads",
}
_QUERY = {
    "list_activities": (
        "cursor",
        "campaignId",
        "leadId",
        "createdTimestampFrom",
        "createdTimestampTo",
        "activityType",
    ),
    "campaign_statistics": ("period",),
    "list_campaigns": ("cursor",),
    "agent_status": ("cursor", "campaignId"),
}
_INTEGER_PARAMS = {"campaignId", "leadId", "activityId", "mediaId"}


def served_operations(config: SimulatorConfig) -> dict[str, tuple[str, str]]:
    """Logical operation -> (method, path template) for every operation this tenant serves."""
    served = {}
    for op, (method, default_path, _op_id, _summary) in OPERATIONS.items():
        if op in config.omit_operations:
            continue
        served[op] = (method, config.path_overrides.get(op, default_path))
    return served


def path_params(template: str) -> list[str]:
    return re.findall(r"{([^}/]+)}", template)


def _parameter(name: str, where: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer" if name in _INTEGER_PARAMS else "string"}
    if name == "period":
        schema = {"type": "string", "enum": ["hour", "day"], "default": "hour"}
    if name.startswith("createdTimestamp"):
        schema["format"] = "date-time"
    return {"name": name, "in": where, "required": where == "path", "schema": schema}


def openapi_document(config: SimulatorConfig) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op, (method, template) in served_operations(config).items():
        _m, _default, operation_id, summary = OPERATIONS[op]
        params = [_parameter(p, "path") for p in path_params(template)]
        params += [_parameter(q, "query") for q in _QUERY.get(op, ())]
        if op == "media":
            ok = {
                "description": "Audio",
                "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
            }
        else:
            ok = {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        operation: dict[str, Any] = {
            "operationId": operation_id,
            "summary": summary,
            "tags": [_TAGS[op]],
            "parameters": params,
            "responses": {
                "201" if op == "create_lead" else "200": ok,
                "401": {"description": "Unauthorized"},
            },
        }
        if op in ("create_lead", "update_lead"):
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        paths.setdefault(template, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "ipSCAPE Platform API (simulator)", "version": "3.0"},
        "servers": [
            {
                "url": "https://{subdomain}.ipscape.com.au/platform-api",
                "variables": {"subdomain": {"default": "demo"}},
            }
        ],
        "security": [{"basicAuth": []}],
        "components": {"securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}}},
        "paths": paths,
    }


def openapi_yaml(config: SimulatorConfig) -> bytes:
    document = openapi_document(config)
    try:
        import yaml
    except ImportError:  # JSON is valid YAML; PyYAML is only a dev dependency
        return json.dumps(document, indent=2).encode()
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()
