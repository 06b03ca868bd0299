"""tidings.delivery"""
