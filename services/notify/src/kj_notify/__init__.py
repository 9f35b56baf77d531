"""kj_notify"""
