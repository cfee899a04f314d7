"""The Microsoft Teams channel. manifest.py: the app package an IT officer uploads in the Teams admin centre."""
