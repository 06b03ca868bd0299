"""tidings.web"""
