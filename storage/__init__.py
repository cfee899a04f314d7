"""Persistence for surveybot. Imports nothing from bot/: the dependency runs one way.

One style: a unit of work (storage.unit_of_work) is the transaction and what it has learnt; every read and write is a
function over it, in the module named for what it stores (storage.conversations, storage.responses, storage.rounds,
storage.contacts, storage.campaigns, ...). Most of storage was written this way already, and it keeps each table's
statements in one place: a new table adds a module, not methods on a class every caller shares. The audit chain's
append (`SqlUnit.audit`) and the deferred writes (`defer`, `together`) stay on the unit, because they are the
transaction's own state (the chain's lock and head, the writes waiting to be joined). Whether a function speaks plain
SQL on the driver's cursor (the answer path, for speed: storage.sql) or the ORM session is its own affair.
"""
