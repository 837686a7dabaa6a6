-- Schema v1: runs, the units ledger, the shards catalog, metrics.
-- Statuses are text with CHECK constraints so plain SQL reads well (WHERE status = 'failed').

CREATE TABLE runs (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
    error        text,
    spec_yaml    text        NOT NULL,
    spec_digest  text        NOT NULL,
    store_dir    text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX runs_spec_digest_idx ON runs (spec_digest);
CREATE INDEX runs_created_at_idx ON runs (created_at DESC);

CREATE TABLE units (
    run_id       bigint      NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    unit_key     text        NOT NULL,
    stage        text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    status       text        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0,
    worker       text,
    output_uri   text,
    checksum     text,
    error        text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, unit_key)
);
CREATE INDEX units_run_status_idx ON units (run_id, status);

CREATE TABLE shards (
    run_id       bigint      NOT NULL,
    unit_key     text        NOT NULL,
    shard_key    text        NOT NULL,
    model        text        NOT NULL,
    site         text        NOT NULL,
    shard_index  integer     NOT NULL,
    rows         bigint      NOT NULL,
    width        integer     NOT NULL,
    dtype        text        NOT NULL,
    uri          text        NOT NULL,
    checksum     text        NOT NULL,
    bytes        bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, model, site, shard_index),
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX shards_shard_key_idx ON shards (shard_key);
CREATE INDEX shards_unit_idx ON shards (run_id, unit_key);

CREATE TABLE metrics (
    metric_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint           NOT NULL,
    unit_key     text             NOT NULL,
    analysis     text             NOT NULL,
    measure      text             NOT NULL,
    model_a      text             NOT NULL,
    site_a       text             NOT NULL,
    model_b      text,
    site_b       text,
    value        double precision NOT NULL,
    n_tokens     bigint           NOT NULL,
    params       jsonb            NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz      NOT NULL DEFAULT now(),
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX metrics_run_idx ON metrics (run_id, analysis, measure);
CREATE INDEX metrics_unit_idx ON metrics (run_id, unit_key);
