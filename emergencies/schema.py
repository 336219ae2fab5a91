from emergencies.middleware import HEADER, HEADER_DESCRIPTION


def document_emergency_header(result, generator, request, public):
    """drf-spectacular postprocessing hook: every response may carry Emergency-In-Force
    (emergencies.middleware adds it to every API response to a signed-in caller)."""
    components = result.setdefault("components", {})
    components.setdefault("headers", {})["EmergencyInForce"] = {
        "schema": {"type": "string"},
        "description": HEADER_DESCRIPTION,
    }
    reference = {"$ref": "#/components/headers/EmergencyInForce"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})[HEADER] = reference
    return result
