"""Safeguarding: checking what a young person writes before anything stores it, the gentle check-in, and the alert
to the partnership's safeguarding lead. See docs/safeguarding.md."""
