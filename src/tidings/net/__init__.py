"""tidings.net"""
