-- Leases in the ledger: units.lease is the coordinator's latest lease of the unit (its attempt number, numbered
-- across the run's whole life, so a resumed run continues after it). A unit's commit names its lease and is
-- accepted only for the unit's latest lease while the unit is not done: the database, not the coordinator's
-- memory, refuses a duplicate or a stale result.

ALTER TABLE units ADD COLUMN lease integer NOT NULL DEFAULT 0;
