"""tidings.pop3"""
