"""kj_tracking"""
