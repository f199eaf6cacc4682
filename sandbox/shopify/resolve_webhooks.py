"""Resolvers of webhook subscriptions: each belongs to the app (and shop) of the request's token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sandbox.shopify.connections import SortKey, paginate
from sandbox.shopify.fields import Info, context, field
from sandbox.shopify.ids import number_of
from sandbox.shopify.subscriptions import WebhookSubscription

INVALID_ADDRESS = "Address is invalid"
NOT_FOUND = "Webhook subscription does not exist"


def _by_id(subscription: WebhookSubscription) -> SortKey:
    return (subscription.id,)


@field("QueryRoot", "webhookSubscriptions")
def webhook_subscriptions(
    root: Any,
    info: Info,
    topics: list[str] | None = None,
    callbackUrl: str | None = None,
    reverse: bool = False,
    **page: Any,
) -> dict[str, Any]:
    ctx = context(info)
    found = [
        s
        for s in ctx.world.subscriptions(ctx.shop.domain, ctx.client_id)
        if (not topics or s.topic in topics) and callbackUrl in (None, s.callback_url)
    ]
    return paginate(found, _by_id, reverse=reverse, **page).as_connection()


@field("Mutation", "webhookSubscriptionCreate")
def webhook_subscription_create(
    root: Any, info: Info, topic: str, webhookSubscription: dict[str, Any]
) -> dict[str, Any]:
    ctx = context(info)
    url = webhookSubscription.get("callbackUrl") or ""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        return _refused(["webhookSubscription", "callbackUrl"], INVALID_ADDRESS)
    try:
        created = ctx.world.create_subscription(
            ctx.shop.domain,
            ctx.client_id,
            topic,
            url,
            api_version=ctx.version,
            format=webhookSubscription.get("format") or "JSON",
        )
    except ValueError as error:
        return _refused(["webhookSubscription", "callbackUrl"], str(error))
    return {"webhookSubscription": created, "userErrors": []}


def _refused(path: list[str], message: str) -> dict[str, Any]:
    return {"webhookSubscription": None, "userErrors": [{"field": path, "message": message}]}


@field("Mutation", "webhookSubscriptionDelete")
def webhook_subscription_delete(root: Any, info: Info, id: str) -> dict[str, Any]:
    ctx = context(info)
    number = number_of(id, "WebhookSubscription")
    if number is None or not ctx.world.delete_subscription(ctx.shop.domain, ctx.client_id, number):
        return {"deletedWebhookSubscriptionId": None, "userErrors": [_missing()]}
    return {"deletedWebhookSubscriptionId": id, "userErrors": []}


def _missing() -> dict[str, Any]:
    return {"field": ["id"], "message": NOT_FOUND}


@field("WebhookSubscription", "apiVersion")
def api_version(subscription: WebhookSubscription, info: Info) -> dict[str, Any]:
    ctx = context(info)
    supported = subscription.api_version in ctx.world.api_versions.supported(ctx.world.now())
    version = subscription.api_version
    return {"handle": version, "displayName": version, "supported": supported}
