"""A claim with nothing but the fields the List claims contract requires, for edge cases."""

from __future__ import annotations

from typing import Any


def bare_claim(
    claim_id: int,
    *,
    store_id: int,
    customer_email: str,
    created_on: str | None = "2025-03-01T10:00:00Z",
    external_id: str | None = None,
) -> dict[str, Any]:
    """Every required field and no optional one (``createdOn`` aside, which orders the list)."""
    address = {
        "line1": "12 Harbour Rd",
        "city": "Portland",
        "stateOrProvinceCode": "ME",
        "postalCode": "04101",
        "countryCode": "US",
    }
    claim: dict[str, Any] = {
        "storeId": store_id,
        "claimId": claim_id,
        "externalId": external_id or f"1001-{claim_id}",
        "wasCreatedFromRegistration": False,
        "shippingAddress": address,
        "billingAddress": dict(address),
        "currencyCode": "USD",
        "order": {"sourceOrderId": "5550001"},
        "isInstantExchange": False,
        "claimType": "Return",
        "status": "In_Progress",
        "feeAmountApplied": 0,
        "exchangeOrderShippingAmountApplied": 0,
        "returnShippingAmountApplied": 0,
        "shopNowIncentiveAmountApplied": 0,
        "customerEmail": customer_email,
        "tags": [],
        "claimLineItems": [],
    }
    if created_on is not None:
        claim["createdOn"] = created_on
    return claim
