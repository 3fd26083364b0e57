"""Logical operations and where a tenant serves them.

The default table is our reading of ipSCAPE's documentation (contract §2); every assumed path lives
here and nowhere else. A tenant's own ``platform-api.yaml`` overrides it through discovery: an
operation is matched by its summary (the wording of ipSCAPE's reference), then its operationId, then
the shape of its path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str  # relative to the API root, starts with "/", may hold {placeholders}
    source: str = "default"  # "default" or "tenant"

    def format(self, **params: object) -> str:
        from urllib.parse import quote

        return self.path.format(**{k: quote(str(v), safe="") for k, v in params.items()})


DEFAULT_OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("list_activities", "GET", "/v3.0/activities"),
        Operation("activity_details", "GET", "/v3.0/activities/{activityId}"),
        Operation("campaign_statistics", "GET", "/v3.0/campaigns/{campaignId}/statistics"),
        Operation("list_campaigns", "GET", "/v3.0/campaigns"),
        Operation("agent_status", "GET", "/v3.0/agents/status"),
        Operation("media", "GET", "/v3.0/media/{mediaId}"),
        Operation("create_lead", "POST", "/v3.0/leads"),
        Operation("update_lead", "PUT", "/v3.0/leads/{leadId}"),
    )
}

# Summaries as ipSCAPE's reference words them, and operationIds we have seen or expect.
_SUMMARIES = {
    "list_activities": ("list of activities", "list activities", "get activities"),
    "activity_details": ("activity details", "get activity", "activity detail"),
    "campaign_statistics": ("campaign statistics", "get campaign statistics"),
    "list_campaigns": ("list of campaigns", "list campaigns", "get campaigns"),
    "agent_status": ("agent status", "agents status", "get agent status"),
    "media": ("download media", "get media", "media"),
    "create_lead": ("create lead", "create a lead", "add lead"),
    "update_lead": ("update lead", "update a lead"),
}
_OPERATION_IDS = {
    "listactivities": "list_activities",
    "getactivity": "activity_details",
    "getcampaignstatistics": "campaign_statistics",
    "listcampaigns": "list_campaigns",
    "getagentstatus": "agent_status",
    "getmedia": "media",
    "createlead": "create_lead",
    "updatelead": "update_lead",
}
_SHAPES = {
    "list_activities": ("GET", r"/activities"),
    "activity_details": ("GET", r"/activities/\{[^}]+\}"),
    "campaign_statistics": ("GET", r"/campaigns/\{[^}]+\}/statistics"),
    "list_campaigns": ("GET", r"/campaigns"),
    "agent_status": ("GET", r"/agents?/status(es)?"),
    "media": ("GET", r"/media/\{[^}]+\}"),
    "create_lead": ("POST", r"/leads"),
    "update_lead": ("PUT", r"/leads/\{[^}]+\}"),
}
# Our code formats paths with these placeholder names; a tenant may name them differently.
_PLACEHOLDERS = {
    "activity_details": "activityId",
    "campaign_statistics": "campaignId",
    "media": "mediaId",
    "update_lead": "leadId",
}
_METHODS = ("get", "post", "put", "patch", "delete")


def _norm(text: object) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", str(text).lower()).strip() if text else ""


def _rename_placeholder(name: str, path: str) -> str | None:
    wanted = _PLACEHOLDERS.get(name)
    found = re.findall(r"\{([^}]+)\}", path)
    if wanted is None:
        return path if not found else None
    if len(found) != 1:
        return None
    return path.replace("{" + found[0] + "}", "{" + wanted + "}")


def operations_from_spec(spec: object, root_path: str = "") -> dict[str, Operation]:
    """Resolve logical operations from an OpenAPI document; unknown or odd entries are ignored.

    ``root_path`` is the path of the API root (e.g. ``/platform-api``): a spec whose paths repeat it
    must not make us request ``/platform-api/platform-api/...``.
    """
    found: dict[str, Operation] = {}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("paths"), Mapping):
        return found
    by_shape: dict[str, Operation] = {}
    for raw_path, item in spec["paths"].items():
        if (
            not isinstance(raw_path, str)
            or not raw_path.startswith("/")
            or not isinstance(item, Mapping)
        ):
            continue
        path = raw_path
        if root_path and path.startswith(root_path + "/"):
            path = path[len(root_path) :]
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, Mapping):
                continue
            summary = _norm(op.get("summary"))
            op_id = _norm(op.get("operationId")).replace(" ", "")
            name = next((n for n, s in _SUMMARIES.items() if summary in s), None)
            name = name or _OPERATION_IDS.get(op_id)
            if name is not None and name not in found:
                if DEFAULT_OPERATIONS[name].method == method.upper():
                    fixed = _rename_placeholder(name, path)
                    if fixed is not None:
                        found[name] = Operation(name, method.upper(), fixed, "tenant")
                continue
            for shape_name, (shape_method, pattern) in _SHAPES.items():
                if shape_method == method.upper() and re.fullmatch(
                    rf"(/v\d+(\.\d+)?)?{pattern}", path
                ):
                    fixed = _rename_placeholder(shape_name, path)
                    if fixed is not None:
                        by_shape.setdefault(
                            shape_name, Operation(shape_name, shape_method, fixed, "tenant")
                        )
    for name, op in by_shape.items():
        found.setdefault(name, op)
    return found


def resolve_operations(spec: object, root_path: str = "") -> dict[str, Operation]:
    """The default table, overridden by whatever the tenant's spec names."""
    return {**DEFAULT_OPERATIONS, **operations_from_spec(spec, root_path)}
