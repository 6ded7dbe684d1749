"""Hub features the local Hub lacks answer 501 "not implemented by the local Hub" through the client, never a 404."""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from gmm_hub.localhub.routes.not_implemented import NOT_IMPLEMENTED


@pytest.fixture
def api(local_hub):
    api = HfApi(endpoint=local_hub.url, token=local_hub.tokens["alice"])
    api.create_repo("alice/demo")
    return api


CALLS = {
    "pin a discussion": lambda api: api._post_discussion_changes(
        repo_id="alice/demo", discussion_num=1, resource="pin"
    ),
    "unlike": lambda api: api.unlike("alice/demo"),
    "likers": lambda api: list(api.list_repo_likers("alice/demo")),
    "user likes": lambda api: api.list_liked_repos("alice"),
    "space info": lambda api: api.space_info("alice/demo"),
    "spaces": lambda api: list(api.list_spaces(author="alice")),
    "space runtime": lambda api: api.get_space_runtime("alice/demo"),
    "access requests": lambda api: list(api.list_pending_access_requests("alice/demo")),
    "collections": lambda api: list(api.list_collections(owner="alice")),
    "webhooks": lambda api: api.list_webhooks(),
    "user overview": lambda api: api.get_user_overview("alice"),
    "model tags": lambda api: api.get_model_tags(),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_unimplemented_hub_calls_answer_501_not_a_missing_repo(api, call):
    with pytest.raises(HfHubHTTPError) as info:
        CALLS[call](api)
    assert not isinstance(info.value, RepositoryNotFoundError)
    assert info.value.response.status_code == 501
    assert "not implemented by the local Hub" in str(info.value)


def test_the_501_answer_names_the_feature_and_a_missing_repo_stays_404(api):
    feature = r"Likes \(DELETE /api/models/alice/demo/like\)"
    with pytest.raises(HfHubHTTPError, match=feature):
        api.unlike("alice/demo")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/missing")
    assert all(feature and path.startswith("/api/") for path, feature in NOT_IMPLEMENTED)
