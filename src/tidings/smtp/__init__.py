"""tidings.smtp"""
