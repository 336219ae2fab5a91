"""Request body parsers of the API."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No document of the API nests deeper than a handful of levels (a declaration,
# its items, an item's permits); this leaves ample room and keeps the
# recursive code that reads the data (serializers, error flattening) far from
# Python's recursion limit.
JSON_MAX_DEPTH = 64


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than JSON_MAX_DEPTH with 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The json module recurses once per level: a deep enough body
            # exhausts the stack before any limit of ours is reached.
            raise ParseError("JSON nested too deeply") from None
        if json_depth(data) > JSON_MAX_DEPTH:
            raise ParseError("JSON nested too deeply")
        return data


def json_depth(data) -> int:
    """How deeply lists and objects nest in `data` (a scalar is 0), without recursion."""
    deepest = 0
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth > JSON_MAX_DEPTH:
            break
        pending.extend((child, depth + 1) for child in children)
    return deepest
