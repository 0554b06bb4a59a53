"""Customers above the write path: naming and finding, linking, merging, activities, the read model, reports."""
