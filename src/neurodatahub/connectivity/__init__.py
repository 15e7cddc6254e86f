"""connectivity"""
