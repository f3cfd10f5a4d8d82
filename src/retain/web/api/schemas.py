"""The shapes of what the API answers, shared by the resources that show them.

Money is always an integer of the currency's minor unit (cents for USD, yen for JPY) beside
its ``currency``: exact, and the same number the store keeps. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

Minor = int  # an amount in the currency's minor unit


class Customer(BaseModel):
    id: int
    external_id: str | None = Field(description="The store's own id of the customer.")
    email: str | None
    name: str | None
    phone: str | None
    created_at: datetime | None
    marketing_consent: bool | None = Field(description="Null when the store never said.")
    orders: int = Field(description="Orders placed and not cancelled.")
    last_order_at: datetime | None


class Profile(BaseModel):
    id: int
    external_id: str | None
    email: str | None
    name: str | None
    phone: str | None
    created_at: datetime | None
    marketing_consent: bool | None
    consent_source: str | None
    consent_at: datetime | None
    timezone: str | None


class OrderSummary(BaseModel):
    id: int
    number: str = Field(description="The store's order number.")
    placed_at: datetime
    currency: str
    total: Minor
    refunded: Minor
    financial_status: str
    cancelled_at: datetime | None


class Message(BaseModel):
    id: int
    customer_id: int | None
    template: str
    topic: str
    channel: str
    status: str = Field(description="sent, skipped, temporary_failure or permanent_failure.")
    flow: str | None = Field(description="The flow that sent it; null for a campaign.")
    attempts: int
    created_at: datetime


class Points(BaseModel):
    balance: int = Field(description="Approved points, spendable now.")
    pending: int = Field(description="Points waiting out the return window.")
    tier: str | None


class Feedback(BaseModel):
    id: int
    ref: str
    customer_id: int | None
    source: str
    survey: str | None
    score: int | None
    text: str
    category: str
    sentiment: str
    mentions_competitor: bool
    intends_to_leave: bool
    team: str
    action_item_id: int | None
    ticket_id: int | None
    created_at: datetime


class Ticket(BaseModel):
    id: int
    customer_id: int | None
    subject: str
    status: str
    priority: str
    team: str
    category: str
    assignee: str | None
    source: str
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    resolution_note: str | None
    csat: int | None


class Prediction(BaseModel):
    customer_id: int
    model: str
    model_version: int
    as_of: date
    horizon_days: int
    p_alive: float
    churn_probability: float
    predicted_orders: float
    expected_next_order: date | None
    average_order_value: Minor
    average_days_between_orders: float | None
    historic_clv: Minor
    predicted_clv: Minor
    total_clv: Minor
    currency: str


class CustomerView(BaseModel):
    """Everything about one customer, on one page."""

    profile: Profile
    orders: list[OrderSummary] = Field(description="The 10 most recent.")
    messages: list[Message] = Field(description="The 10 most recent.")
    loyalty: Points | None = Field(description="Null when the customer is not a loyalty member.")
    prediction: Prediction | None = Field(description="From the latest scoring; null before any.")
    segments: list[str] = Field(description='Stored memberships, e.g. "rfm:Champions".')
    feedback: list[Feedback] = Field(description="The 20 most recent.")
    tickets: list[Ticket]
