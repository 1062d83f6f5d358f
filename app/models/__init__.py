"""Every table of the registry. Importing this package registers them all on Base.metadata."""

from app.models.accounts import Account, AccountObjective, Attestation, Custodianship, LegalHold
from app.models.activity import ActivityPeriod
from app.models.audit import AuditCheckpoint, AuditEvent, AuditLeaf, AuditTreeNode
from app.models.base import Base
from app.models.campaigns import Campaign, CampaignItem, SentDigest
from app.models.guidelines import Guideline, Signoff
from app.models.idempotency import IdempotencyRecord
from app.models.org import Force, Objective, Person, Unit
from app.models.outbox import FlagState, OutboxEvent, ScheduledJob, Webhook, WebhookDelivery
from app.models.ratelimit import RateLimitHit
from app.models.reports import ReportStale, ReportTotals
from app.models.requests import ChecklistItem, Request, RequestDecision
from app.models.scim import ScimCredential, ScimUser

__all__ = [
    "Account",
    "AccountObjective",
    "ActivityPeriod",
    "Attestation",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditLeaf",
    "AuditTreeNode",
    "Base",
    "Campaign",
    "CampaignItem",
    "ChecklistItem",
    "Custodianship",
    "FlagState",
    "Force",
    "Guideline",
    "IdempotencyRecord",
    "LegalHold",
    "Objective",
    "OutboxEvent",
    "Person",
    "RateLimitHit",
    "ReportStale",
    "ReportTotals",
    "Request",
    "RequestDecision",
    "ScheduledJob",
    "ScimCredential",
    "ScimUser",
    "SentDigest",
    "Signoff",
    "Unit",
    "Webhook",
    "WebhookDelivery",
]
