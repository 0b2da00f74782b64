"""What every page shares: the templates, the page's point in time ("as of"), links that keep
it, the signed-in person, and pages (not problem+json) for errors.

Pages are server-rendered (Jinja2) from the same queries the API's routes call (the Board's
read models through `projections.board.Board`, aggregates through the Ledger), scoped as the
API scopes them (api/routes/board.scope), so a page's numbers are the API's numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.params import EARLIEST, LATEST
from api.sessions import SESSION_COOKIE
from domain.actors import Actor, Permission, Role
from domain.errors import DomainError
from projections.board import At

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")

# Only this origin's style and images; no script is needed by any page.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "no-referrer",  # sign-in links carry a secret in their path
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

ROLE_NAMES = {
    Role.SCB_MANAGER: "SCB manager", Role.AGENCY_LEAD: "Agency lead",
    Role.BOARD_MEMBER: "Board member", Role.SCRUTINEER: "Scrutineer",
    Role.AUDITOR: "Auditor", Role.OPERATOR: "Operator",
}


class SignInRequired(Exception):
    """A page was asked for without a live session: go to the sign-in page."""


# ---- the page's point in time ---------------------------------------------------------------

@dataclass(frozen=True)
class When:
    """The point in time a page shows: now, as of a moment, or just after a log position."""

    as_of: datetime | None = None
    position: int | None = None

    @property
    def at(self) -> At:
        return At(as_of=self.as_of, position=self.position)

    @property
    def past(self) -> bool:
        return self.as_of is not None or self.position is not None

    def params(self) -> dict[str, str]:
        if self.as_of is not None:
            return {"as_of": self.as_of.strftime("%Y-%m-%dT%H:%M:%S")}
        if self.position is not None:
            return {"position": str(self.position)}
        return {}

    @property
    def control_value(self) -> str:
        """The value for the datetime-local control."""
        return self.as_of.strftime("%Y-%m-%dT%H:%M") if self.as_of else ""

    @property
    def label(self) -> str:
        if self.as_of is not None:
            return f"as it stood at {self.as_of:%d %B %Y, %H:%M} UTC"
        if self.position is not None:
            return f"as it stood just after event {self.position} of its log"
        return "now"


def parse_when(request: Request) -> When:
    """`as_of` (ISO 8601 or the datetime-local control's value; UTC unless it says) or
    `position` from the query; neither means now."""
    raw_as_of = (request.query_params.get("as_of") or "").strip()
    raw_position = (request.query_params.get("position") or "").strip()
    if raw_as_of and raw_position:
        raise DomainErrorPage(422, "Give a date or a position, not both",
                              "Choose either an 'as of' date and time or a log position.")
    if raw_as_of:
        try:
            moment = datetime.fromisoformat(raw_as_of)
        except ValueError:
            raise DomainErrorPage(422, "That is not a date and time",
                                  f"'{raw_as_of}' is not a date and time "
                                  "(e.g. 2024-03-01T09:00).") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01 west of UTC
            moment = EARLIEST - timedelta(days=1)
        if not EARLIEST <= moment <= LATEST:  # the API's bounds (api/params.py)
            raise DomainErrorPage(422, "That date is out of range",
                                  f"'{raw_as_of}' is not between 1970 and 2999.")
        return When(as_of=moment)
    if raw_position:
        if not raw_position.isdigit() or len(raw_position) > 18:
            raise DomainErrorPage(422, "That is not a log position",
                                  f"'{raw_position}' is not a log position.")
        return When(position=int(raw_position))
    return When()


class DomainErrorPage(Exception):
    """A page's own refusal, shown as an error page with this status."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


# ---- what every template gets ---------------------------------------------------------------

NAV = [
    ("overview", "/", "Overview"),
    ("my-work", "/view/my-work", "My work"),
    ("actions", "/view/actions", "Actions"),
    ("reviews", "/view/reviews", "Reviews"),
    ("challenges", "/view/challenges", "Challenges"),
    ("themes", "/view/themes", "Themes"),
    ("audit", "/view/audit", "Audit trail"),
    ("integrity", "/view/integrity", "Integrity"),
    ("pack", "/board/pack", "Board pack"),
]


@dataclass
class Page:
    """The person, the point in time and the CSRF token of one page view."""

    request: Request
    actor: Actor | None
    when: When
    csrf: str = ""
    section: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # The partnership the person chose (kept by every link, like the point in time), and
    # those they may choose from.
    partnership: str | None = None
    partnership_choices: list[str] = field(default_factory=list)

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.actor.role, "") if self.actor else ""

    @property
    def nav(self) -> list[tuple[str, str, str]]:
        items = list(NAV)
        if self.actor is not None and self.actor.may(Permission.MANAGE_USERS):
            items.append(("users", "/view/users", "People"))
        return items

    def url(self, path: str, **params: Any) -> str:
        """A link that keeps the page's point in time (None values are left out)."""
        query = {k: str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in params.items() if v is not None and v != ""}
        if "as_of" not in params and "position" not in params:
            query = {**self.when.params(), **query}
        if self.partnership and "partnership" not in params:
            query["partnership"] = self.partnership
        return path + ("?" + urlencode(query) if query else "")

    def now_url(self) -> str:
        """This page now (without the point in time)."""
        query = {k: v for k, v in self.request.query_params.items()
                 if k not in {"as_of", "position", "cursor"}}
        return self.request.url.path + ("?" + urlencode(query) if query else "")

    def kept_params(self) -> list[tuple[str, str]]:
        """This page's other query parameters, for the 'as of' control's hidden fields."""
        return [(k, v) for k, v in self.request.query_params.multi_items()
                if k not in {"as_of", "position", "cursor", "partnership"}]


def date_text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10]) if len(value) <= 10 else \
                datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return f"{value:%-d %b %Y, %H:%M}"
    return f"{value:%-d %b %Y}"


def words(code: Any) -> str:
    text = str(code or "").replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


LEVELS = {"sub_group": "sub-group", "delegated_partners": "delegated partners",
          "lead_partners": "lead partners", "board": "Board"}


def level_name(level: Any) -> str:
    """A rung of the escalation ladder (domain.action.EscalationLevel), short."""
    return LEVELS.get(str(level), words(level))


def role_name(role: Any) -> str:
    return ROLE_NAMES.get(role, words(role))  # type: ignore[call-overload]


templates.env.filters.update(date=date_text, words=words, role=role_name, level=level_name)
templates.env.globals.update(plural=plural)


def render(page: Page, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(
        page.request, template, {"page": page, **context}, status_code=http_status)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    actor = getattr(request.state, "actor", None) if hasattr(request, "state") else None
    page = Page(request, actor, When(), csrf=getattr(request.state, "csrf", ""),
                extra=dict(getattr(request.state, "page_extra", {})))
    return render(page, "error.html", http_status=status, status_code=status, title=title,
                  detail=detail)


TITLES = {400: "Bad request", 401: "Sign in needed", 403: "Not yours to see",
          404: "Not found", 405: "Not allowed", 409: "Not at this stage",
          412: "Changed meanwhile", 422: "Not understood", 503: "Not available just now"}


class PageRoute(APIRoute):
    """A page's errors are pages (403, 404, ...: a message and a way on, never a stack trace
    or JSON); without a session the page sends the person to sign in; each answered page
    refreshes the session cookie's idle clock."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            # A filter form sends its empty fields ("agency=&stage="): they mean "any".
            query = [(k, v) for k, v in parse_qsl(request.scope.get("query_string", b"")
                                                   .decode("latin-1"), keep_blank_values=True)
                     if v.strip()]
            request.scope["query_string"] = urlencode(query).encode("latin-1")
            request.state.page = True  # errors the app's handlers answer become pages
            try:
                response = await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query
                                             else "")
                return RedirectResponse("/sign-in?" + urlencode({"next": target}), 303)
            except DomainErrorPage as error:
                return error_page(request, error.status, error.title, error.detail)
            except DomainError as error:
                return error_page(request, error.status, TITLES.get(error.status, error.title),
                                  error.detail)
            except RequestValidationError as error:
                fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:])
                                   for e in error.errors())
                return error_page(request, 422, TITLES[422],
                                  f"Some of this page's settings are not valid: {fields}.")
            except StarletteHTTPException as error:
                return error_page(request, error.status_code,
                                  TITLES.get(error.status_code, "Error"), str(error.detail))
            refreshed = getattr(request.state, "session_cookie", None)
            if refreshed is not None:
                value, secure, max_age = refreshed
                response.set_cookie(SESSION_COOKIE, value, max_age=max_age, httponly=True,
                                    secure=secure, samesite="lax", path="/")
            return response

        return page_handler
