"""What the local Hub does not serve answers 501, naming the feature, never a 404 that reads like a missing repo.

A table of the Hub API paths the ``huggingface_hub`` client calls for features the
local Hub does not have (likes, Spaces, collections, jobs, webhooks, the discussion
features beyond comments, titles and status...). ``ORDER = 100`` puts them last in the route table: a path a real
route serves never reaches them. A path the Hub does not serve either stays a plain
404 ("Not found: ..."), as on the Hub.

The client turns a 501 into ``HfHubHTTPError`` whose message carries ours, e.g.
``501 ... Likes (DELETE /api/models/a/b/like): not implemented by the local Hub.``
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.routing import Route

from .._errors import HubError

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_REPO = "/api/{repo_type:str}/{namespace}/{name}"

# (path, feature): the answer reads "<feature> (<method> <path>): not implemented by the local Hub."
NOT_IMPLEMENTED: tuple[tuple[str, str], ...] = (
    # discussions, comments, titles, status and merges are served (routes/discussions.py); the rest
    # (pinning, reactions, reviews...) is not
    (_REPO + "/discussions", "This discussion feature"),
    (_REPO + "/discussions/{rest:path}", "This discussion feature"),
    (_REPO + "/like", "Likes"),
    (_REPO + "/likers", "Likes"),
    ("/api/users/{user}/likes", "Likes"),
    (_REPO + "/user-access-request/{rest:path}", "Access requests to gated repos"),
    (_REPO + "/resource-group", "Resource groups"),
    ("/api/datasets/{namespace}/{name}/leaderboard", "Leaderboards"),
    ("/api/spaces", "Spaces"),
    ("/api/spaces/{rest:path}", "Spaces"),
    ("/api/kernels/{rest:path}", "Kernel repos"),
    ("/api/buckets/{rest:path}", "Buckets"),
    ("/api/collections", "Collections"),
    ("/api/collections/{rest:path}", "Collections"),
    ("/api/daily_papers", "Papers"),
    ("/api/papers/{rest:path}", "Papers"),
    ("/api/jobs/{rest:path}", "Jobs"),
    ("/api/scheduled-jobs/{rest:path}", "Jobs"),
    ("/api/settings/webhooks", "Webhooks"),
    ("/api/settings/webhooks/{rest:path}", "Webhooks"),
    ("/api/settings/{rest:path}", "Account settings"),
    ("/api/organizations/{rest:path}", "Organization pages"),
    ("/api/users/{user}/{rest:path}", "User pages"),
    ("/api/models-tags-by-type", "The tag catalogue"),
    ("/api/datasets-tags-by-type", "The tag catalogue"),
)


def _answer(feature: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raise HubError(501, f"{feature} ({request.method} {request.url.path}): not implemented by the local Hub.")

    return endpoint


ORDER = 100  # after every real route group (see gmm_hub.localhub._app.route_table)
routes = [Route(path, _answer(feature), methods=ALL_METHODS) for path, feature in NOT_IMPLEMENTED]

__all__ = ["NOT_IMPLEMENTED", "ORDER", "routes"]
