"""tidings.mime"""
