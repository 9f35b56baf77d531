"""kj_alarm"""
