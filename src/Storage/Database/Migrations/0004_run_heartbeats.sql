-- The process driving a running run (`sweep run`, or the cluster's coordinator) stamps heartbeat_at every
-- few seconds. A run still 'running' whose heartbeat is old has lost its driver: `sweep status` says so,
-- and `sweep run --resume` continues it.

ALTER TABLE runs ADD COLUMN heartbeat_at timestamptz;
