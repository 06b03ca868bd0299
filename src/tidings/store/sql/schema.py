"""The one schema both backends share (SQLAlchemy Core); the current version.

Migrations in `store/sql/migrations/` bring an older database to this shape.
Full-text search lives in dialect-specific structures made by migration 0002.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from tidings.store.sql.types import IdType, UTCDateTime

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", UTCDateTime, nullable=False),
)

domains = Table(
    "domains",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("name", String(253), nullable=False, unique=True),
    # No FK: a domain and its catch-all principal reference each other.
    Column("catch_all_id", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

principals = Table(
    "principals",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(320), nullable=False, unique=True),
    Column("domain_id", ForeignKey("domains.id", ondelete="RESTRICT"), nullable=False),
    Column("display_name", String(256), nullable=False, default=""),
    Column("role", String(32), nullable=False, default="user"),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("quota_bytes", BigInteger, nullable=True),
    Column("per_user_seen", Boolean, nullable=False, default=True),
    Column("password_hash", Text, nullable=True),
    Column("scram_sha256", Text, nullable=True),
    Column("resource_policy", Text, nullable=True),  # JSON
    Column("created_at", UTCDateTime, nullable=False),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

# Every address that routes to a principal: its primary address and its aliases.
addresses = Table(
    "addresses",
    metadata,
    Column("address", String(320), primary_key=True),
    Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
    Column("is_primary", Boolean, nullable=False, default=False),
    Index("ix_addresses_principal", "principal_id"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_group_members_member", "member_id"),
)

permissions = Table(
    "permissions",
    metadata,
    Column("owner_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Column("grantee_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Column("permission", String(32), primary_key=True),
    Index("ix_permissions_grantee", "grantee_id"),
)

app_passwords = Table(
    "app_passwords",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(128), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Index("ix_app_passwords_principal", "principal_id"),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

# One row per data-owning principal: its change counter and storage use.
accounts = Table(
    "accounts",
    metadata,
    Column("id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Column("modseq", BigInteger, nullable=False, default=0),
    # Changes at or below this modseq were pruned; older sync states must resync.
    Column("pruned_modseq", BigInteger, nullable=False, default=0),
    Column("used_bytes", BigInteger, nullable=False, default=0),
    Column("message_count", BigInteger, nullable=False, default=0),
)

mailboxes = Table(
    "mailboxes",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("parent_id", BigInteger, nullable=True),
    Column("role", String(32), nullable=True),
    Column("uid_validity", BigInteger, nullable=False),
    Column("uid_next", BigInteger, nullable=False, default=1),
    Column("highest_modseq", BigInteger, nullable=False, default=0),
    Column("subscribed", Boolean, nullable=False, default=True),
    Column("sort_order", Integer, nullable=False, default=0),
    UniqueConstraint("account_id", "name", name="uq_mailboxes_account_name"),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

# RFC 4314 rights granted on one mailbox; grantee 0 stands for "anyone".
mailbox_acl = Table(
    "mailbox_acl",
    metadata,
    Column("mailbox_id", ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True),
    Column("grantee_id", BigInteger, primary_key=True),
    Column("rights", String(32), nullable=False),
    Index("ix_mailbox_acl_grantee", "grantee_id"),
)

emails = Table(
    "emails",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("blob_id", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("thread_id", BigInteger, nullable=False),
    Column("keywords", Text, nullable=False, default="[]"),  # JSON list
    Column("sent_at", UTCDateTime, nullable=True),  # the Date: header
    Column("subject", Text, nullable=False, default=""),
    Column("base_subject", Text, nullable=False, default=""),
    Column("from_", Text, nullable=False, default=""),
    Column("sender", Text, nullable=False, default=""),
    Column("reply_to", Text, nullable=False, default=""),
    Column("to_", Text, nullable=False, default=""),
    Column("cc", Text, nullable=False, default=""),
    Column("bcc", Text, nullable=False, default=""),
    Column("message_id", Text, nullable=False, default=""),
    Column("in_reply_to", Text, nullable=False, default=""),
    Column("references", Text, nullable=False, default=""),
    Index("ix_emails_account", "account_id"),
    Index("ix_emails_blob", "blob_id"),
    Index("ix_emails_message_id", "account_id", "message_id"),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

# An email as a member of a mailbox: the IMAP message (UID, modseq, save date).
mailbox_messages = Table(
    "mailbox_messages",
    metadata,
    Column("mailbox_id", ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True),
    Column("uid", BigInteger, primary_key=True),
    Column("email_id", ForeignKey("emails.id", ondelete="CASCADE"), nullable=False),
    Column("modseq", BigInteger, nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
    Index("ix_mailbox_messages_email", "email_id"),
    Index("ix_mailbox_messages_modseq", "mailbox_id", "modseq"),
)

# \Seen kept per reader in shared mailboxes with per_user_seen.
seen_flags = Table(
    "seen_flags",
    metadata,
    Column("email_id", ForeignKey("emails.id", ondelete="CASCADE"), primary_key=True),
    Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
)

changes = Table(
    "changes",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("modseq", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("object_id", BigInteger, nullable=False),
    Column("collection_id", BigInteger, nullable=True),
    Column("op", String(16), nullable=False),
    Column("uid", BigInteger, nullable=True),
    Index("ix_changes_account_modseq", "account_id", "modseq"),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

# Content-addressed blobs; small ones inline (`data`), large ones as files.
blobs = Table(
    "blobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

queue_messages = Table(
    "queue_messages",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("sender", String(320), nullable=False),
    Column("blob_id", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("submitted_by", BigInteger, nullable=True),
    Column("dsn_ret", String(8), nullable=True),
    Column("dsn_envid", String(100), nullable=True),
    Column("delay_notified", Boolean, nullable=False, default=False),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

queue_recipients = Table(
    "queue_recipients",
    metadata,
    Column("queue_id", ForeignKey("queue_messages.id", ondelete="CASCADE"), primary_key=True),
    Column("address", String(320), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("notify", String(64), nullable=True),
    Column("orcpt", String(500), nullable=True),
    Index("ix_queue_recipients_due", "state", "next_attempt_at"),
)

# Append-only, hash-chained admin audit log (policy/audit.py). Ids are assigned
# by the writer, gapless, since each record's hash covers its id.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(400), nullable=False),
    Column("actor_address", String(320), nullable=True),
    Column("remote_ip", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(400), nullable=False),
    Column("before", Text, nullable=True),  # canonical JSON
    Column("after", Text, nullable=True),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_object", "object_type", "object_id"),
)

# API tokens: the secret is shown once; only its SHA-256 is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Index("ix_api_tokens_principal", "principal_id"),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

# Domains a domain admin administers besides their own.
domain_admins = Table(
    "domain_admins",
    metadata,
    Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Column("domain_id", ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True),
)

# TOTP second factors (RFC 6238) for console logins; last_step refuses a replayed code.
totp_secrets = Table(
    "totp_secrets",
    metadata,
    Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_step", BigInteger, nullable=False, default=0),
)

# Admin console sessions: the cookie's SHA-256, its CSRF token and expiry.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("principal_id", ForeignKey("principals.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("remote_ip", String(64), nullable=True),
    Index("ix_console_sessions_principal", "principal_id"),
)

# Calendars (events, tasks, journals) and address books (RFC 4791, RFC 6352).
dav_collections = Table(
    "dav_collections",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("display_name", Text, nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("color", String(32), nullable=False, default=""),
    Column("timezone", Text, nullable=False, default=""),
    Column("components", String(64), nullable=False, default=""),  # "VEVENT,VTODO"
    Column("modseq", BigInteger, nullable=False),
    # RFC 6638 schedule-calendar-transp: True keeps the calendar out of free/busy.
    Column("transparent", Boolean, nullable=False, default=False, server_default=false()),
    UniqueConstraint("account_id", "kind", "name", name="uq_dav_collections_name"),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

# One iCalendar or vCard resource; a deleted one stays as a row with `deleted` set so
# that sync-collection can name it (the change log holds the tombstone's modseq).
dav_objects = Table(
    "dav_objects",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("collection_id", ForeignKey("dav_collections.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("uid", Text, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("component", String(16), nullable=False),
    Column("data", Text, nullable=False),
    Column("first_start", UTCDateTime, nullable=True),
    Column("last_end", UTCDateTime, nullable=True),
    Column("modseq", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("modified_at", UTCDateTime, nullable=True),  # DAV:getlastmodified
    UniqueConstraint("collection_id", "name", name="uq_dav_objects_name"),
    Index("ix_dav_objects_uid", "collection_id", "uid"),
    Index("ix_dav_objects_range", "collection_id", "first_start", "last_end"),
    # Ids are never reused (JMAP, change log): SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

# Per-collection sharing: a user or a group (grantee) and its level (model ShareLevel).
collection_acl = Table(
    "collection_acl",
    metadata,
    Column(
        "collection_id",
        ForeignKey("dav_collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("grantee_id", ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True),
    Column("level", String(16), nullable=False),
    Index("ix_collection_acl_grantee", "grantee_id"),
)

# --- spam scoring and quarantine (hygiene/spam, hygiene/quarantine) -----------------
# Bayesian token counts; scope 0 is the global table, any other scope an account id.
spam_tokens = Table(
    "spam_tokens",
    metadata,
    Column("scope", BigInteger, primary_key=True),
    Column("token", String(160), primary_key=True),
    Column("spam", Integer, nullable=False, default=0),
    Column("ham", Integer, nullable=False, default=0),
)

spam_totals = Table(
    "spam_totals",
    metadata,
    Column("scope", BigInteger, primary_key=True),
    Column("spam", BigInteger, nullable=False, default=0),
    Column("ham", BigInteger, nullable=False, default=0),
)

# Which class a message (by blob) was learned as for an account: learn once, retrain once.
spam_learned = Table(
    "spam_learned",
    metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("blob_id", String(64), primary_key=True),
    Column("is_spam", Boolean, nullable=False),
    Column("learned_at", UTCDateTime, nullable=False),
)

spam_rule_weights = Table(
    "spam_rule_weights",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("weight", Float, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

spam_senders = Table(
    "spam_senders",
    metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("pattern", String(320), primary_key=True),
    Column("kind", String(16), nullable=False),  # "safe" or "blocked"
    Column("created_at", UTCDateTime, nullable=False),
)

# The learner's position in each account's change log.
spam_learner = Table(
    "spam_learner",
    metadata,
    Column("account_id", ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("modseq", BigInteger, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sender", String(320), nullable=False),
    Column("recipients", Text, nullable=False),  # JSON list of envelope addresses
    Column("account_ids", Text, nullable=False),  # JSON list
    Column("blob_id", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("score", Float, nullable=True),
    Column("report", Text, nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("from_", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False),  # held, released, deleted
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("resolved_by", String(400), nullable=True),
    Index("ix_quarantine_status", "status", "created_at"),
    sqlite_autoincrement=True,
)

# Greylisting (hygiene/greylist.py); times are seconds on the greylister's clock.
greylist_triplets = Table(
    "greylist_triplets",
    metadata,
    Column("key", String(700), primary_key=True),  # "network|sender|recipient"
    Column("first_seen", Float, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("expires", Float, nullable=False),
    Index("ix_greylist_triplets_expires", "expires"),
)

greylist_networks = Table(
    "greylist_networks",
    metadata,
    Column("network", String(64), primary_key=True),
    Column("passes", Integer, nullable=False),
    Column("allowed_until", Float, nullable=False),
    Column("expires", Float, nullable=False),
)
