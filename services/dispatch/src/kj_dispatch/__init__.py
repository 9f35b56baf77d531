"""kj_dispatch"""
