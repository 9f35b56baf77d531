"""kj_sim"""
