"""Calendar logic shared by every protocol: iCalendar/vCard validation and indexing,
recurrence expansion, time-range matching and free/busy (RFC 5545, 4791, 6350)."""
