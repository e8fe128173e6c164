"""A sample event in EventBridge's shape and a rule it matches, shared by the routing tests."""

EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "OrderConfirmed",
    "source": "ecommerce-streams",
    "account": "111122223333",
    "time": "2026-11-30T03:00:00Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {"order_id": "o-1", "total": 612.5, "currency": "EUR"},
}
HIGH_VALUE = {"detail-type": ["OrderConfirmed"], "detail": {"total": [{"numeric": [">", 500]}]}}
