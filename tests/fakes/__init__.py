"""Fake chat platforms that the real SDKs can talk to in tests."""
