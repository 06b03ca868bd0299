"""tidings.imap"""
