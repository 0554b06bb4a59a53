"""Workspaces and what they configure: tokens, admins, status lists, tracks, intent settings, the catalog."""
