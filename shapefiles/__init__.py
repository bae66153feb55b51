"""Shipped data: China's prefecture-level layer and the Broadband China pilot table.

See ``README.md`` in this folder for sources, licences and dates.
"""
