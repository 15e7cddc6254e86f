"""spikes"""
