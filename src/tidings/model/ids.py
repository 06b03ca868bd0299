"""Typed identifiers, so that a sequence number cannot pass for a UID."""

from typing import NewType

DomainId = NewType("DomainId", int)
PrincipalId = NewType("PrincipalId", int)
# An account is the principal that owns data (a user, shared mailbox or resource).
AccountId = NewType("AccountId", int)
MailboxId = NewType("MailboxId", int)
EmailId = NewType("EmailId", int)
QueueId = NewType("QueueId", int)
# A blob id is the lowercase hex SHA-256 of the blob's bytes (content addressing).
BlobId = NewType("BlobId", str)
UID = NewType("UID", int)
SeqNum = NewType("SeqNum", int)
ModSeq = NewType("ModSeq", int)
