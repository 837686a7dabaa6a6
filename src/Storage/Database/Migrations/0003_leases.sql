-- Leases and resumable runs: where a run's job file lives, which node ran each unit, how often a
-- unit was committed, and one row per attempt (who ran it, how it ended), so retries stay visible.

ALTER TABLE runs ADD COLUMN job_path text;

ALTER TABLE units
    ADD COLUMN node    text,
    ADD COLUMN commits integer NOT NULL DEFAULT 0;

CREATE TABLE unit_attempts (
    run_id      bigint      NOT NULL,
    unit_key    text        NOT NULL,
    attempt     integer     NOT NULL,
    worker      text        NOT NULL,
    node        text        NOT NULL,
    outcome     text        NOT NULL DEFAULT 'running'
                CHECK (outcome IN ('running', 'done', 'retried', 'failed', 'abandoned')),
    error       text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (run_id, unit_key, attempt),
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX unit_attempts_node_idx ON unit_attempts (run_id, node);
