"""tidings.directory"""
