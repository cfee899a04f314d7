"""The survey definition files the business unit edits, shipped with the package as data."""
