"""Every API response to a signed-in caller says whether an emergency is in force."""

import re
from urllib.parse import quote

from emergencies.selectors import EmergencyNotice, emergency_notices

HEADER = "Emergency-In-Force"
HEADER_DESCRIPTION = (
    "Present while an emergency is in force: one entry per emergency, "
    'separated by commas, as `<id>; name="<name>"; until="<end, ISO 8601>"; '
    'offices="<codes of the offices of entry>"` (a name with characters other than '
    'printable ASCII is given as `name=%"<percent-encoded UTF-8>"`). '
    "`GET /api/v1/emergencies/in-force/` tells what each one means."
)


def _string(value: str) -> str:
    """A structured-field string (RFC 9651), or a display string when it must be."""
    if all(" " <= char <= "~" for char in value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    encoded = quote(value, safe=" !#$&'()*+,-./:;<=>?@[\\]^_`{|}~")
    return '%"' + re.sub(r"%[0-9A-F]{2}", lambda match: match[0].lower(), encoded) + '"'


def header_value(notices: list[EmergencyNotice]) -> str:
    return ", ".join(
        f"{notice.id}; name={_string(notice.name)}; "
        f'until="{notice.ends_at.isoformat().replace("+00:00", "Z")}"; '
        f'offices="{" ".join(notice.office_codes)}"'
        for notice in notices
    )


class EmergencyHeaderMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The user is known only now: the API authenticates its token in the view.
        if request.path.startswith("/api/") and request.user.is_authenticated:
            notices = emergency_notices()
            if notices:
                response[HEADER] = header_value(notices)
        return response
