-- Schema v2: feature matches. One row per feature of one side of a correlation analysis: its best
-- (rank 1) or k-th best partner on the other side, bulk inserted by binary COPY with the unit's commit.
CREATE TABLE feature_matches (
    run_id       bigint           NOT NULL,
    unit_key     text             NOT NULL,
    analysis     text             NOT NULL,
    model_a      text             NOT NULL,
    site_a       text             NOT NULL,
    model_b      text             NOT NULL,
    site_b       text             NOT NULL,
    direction    text             NOT NULL CHECK (direction IN ('a_to_b', 'b_to_a')),
    feature      integer          NOT NULL,   -- index on the "from" side
    rank         integer          NOT NULL CHECK (rank >= 1),
    match        integer,                     -- index on the other side; NULL when the feature is dead
    correlation  double precision NOT NULL,   -- Pearson r over the tokens; 0 for a dead feature
    mutual       boolean          NOT NULL,   -- rank 1 and each other's best match
    dead         boolean          NOT NULL,   -- the feature has zero variance over the tokens
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX feature_matches_unit_idx ON feature_matches (run_id, unit_key);
CREATE INDEX feature_matches_lookup_idx ON feature_matches (run_id, analysis, direction, feature);
