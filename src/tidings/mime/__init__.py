"""tidings.mime: parse and build RFC 5322 / MIME messages, pure code on bytes.

Entry points: `structure.parse_message` (part tree with byte offsets),
`imap_views` (ENVELOPE, BODY/BODYSTRUCTURE, BODY[section], BINARY), `index.parse_headers_for_store`
(what the store indexes), `text.extract_text`, `subject.base_subject` and `build` helpers.
"""
