-- A run stopped on purpose (Ctrl-C or SIGTERM on `sweep run`) is 'interrupted', not 'failed': nothing went wrong,
-- and `sweep run --resume RUN` continues it. Its error column says how it was stopped. When a run ends (succeeded,
-- failed or interrupted) its attempts still open are closed as abandoned and its running units go back to pending,
-- in the same transaction: no 'running' row outlives its run.

ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'interrupted'));
