-- Schema v5: what each feature does (the `features` analysis, docs/analyses.md "Features"). Each table holds one
-- row per feature (or per example, partner, token) of a site; every look-up of "feature N of site S" is an index
-- prefix (run_id, model, site, feature). Rows belong to the unit that wrote them and are replaced with it.

-- One row per site a features analysis described: what its feature rows are about.
CREATE TABLE feature_sites (
    run_id          bigint  NOT NULL,
    unit_key        text    NOT NULL,
    analysis        text    NOT NULL,
    model           text    NOT NULL,
    site            text    NOT NULL,              -- hook name, or an SAE code site {hook}/sae/{name}
    sae             text,                          -- the SAE's name for a code site; NULL for a dense site
    width           integer NOT NULL CHECK (width > 0),
    n_tokens        bigint  NOT NULL,
    neuronpedia_id  text,                          -- {model}/{sae-id} on Neuronpedia, e.g. gpt2-small/8-res-jb
    params          jsonb   NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (run_id, model, site, analysis),
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX feature_sites_unit_idx ON feature_sites (run_id, unit_key);

CREATE TABLE feature_stats (
    run_id            bigint           NOT NULL,
    unit_key          text             NOT NULL,
    analysis          text             NOT NULL,
    model             text             NOT NULL,
    site              text             NOT NULL,
    feature           integer          NOT NULL,
    n_tokens          bigint           NOT NULL,
    fired             bigint           NOT NULL,   -- tokens where the value is > 0
    frequency         double precision NOT NULL,   -- fired / n_tokens
    mean_activation   double precision NOT NULL,   -- over every token
    max_activation    double precision NOT NULL,   -- over every token
    mean_when_active  double precision,            -- over the firing tokens; NULL when it never fired
    histogram_bins    smallint[]       NOT NULL,   -- the non-empty log bins (see the feature_histograms view)
    histogram_counts  bigint[]         NOT NULL,   -- firing tokens per bin, same order
    PRIMARY KEY (run_id, model, site, feature, analysis),
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX feature_stats_unit_idx ON feature_stats (run_id, unit_key);

CREATE TABLE top_examples (
    run_id              bigint   NOT NULL,
    unit_key            text     NOT NULL,
    analysis            text     NOT NULL,
    model               text     NOT NULL,
    site                text     NOT NULL,
    feature             integer  NOT NULL,
    kind                text     NOT NULL CHECK (kind IN ('top', 'sample')),
    stratum             smallint CHECK ((kind = 'top') = (stratum IS NULL)),   -- a sample's activation stratum
    rank                integer  NOT NULL CHECK (rank >= 1),
    activation          real     NOT NULL,
    seq                 integer  NOT NULL,
    pos                 integer  NOT NULL,
    token               integer  NOT NULL,
    token_text          text     NOT NULL,
    window_start        integer  NOT NULL,   -- pos of window_tokens[1]
    window_tokens       integer[] NOT NULL,
    window_texts        text[]   NOT NULL,   -- each token decoded readably (↵ for a newline)
    window_activations  real[]   NOT NULL,   -- the feature's value on each window token (0: not firing)
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE UNIQUE INDEX top_examples_lookup_idx ON top_examples (run_id, model, site, feature, analysis, kind, coalesce(stratum, -1), rank);
CREATE INDEX top_examples_unit_idx ON top_examples (run_id, unit_key);

CREATE TABLE feature_coactivations (
    run_id      bigint           NOT NULL,
    unit_key    text             NOT NULL,
    analysis    text             NOT NULL,
    model       text             NOT NULL,
    site        text             NOT NULL,
    feature     integer          NOT NULL,
    measure     text             NOT NULL CHECK (measure IN ('correlation', 'jaccard')),
    rank        integer          NOT NULL CHECK (rank >= 1),
    partner     integer          NOT NULL,
    value       double precision NOT NULL,   -- Pearson r, or Jaccard of the firing sets
    co_firings  bigint           NOT NULL,   -- tokens where both fire
    PRIMARY KEY (run_id, model, site, feature, analysis, measure, rank),
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX feature_coactivations_unit_idx ON feature_coactivations (run_id, unit_key);

CREATE TABLE feature_logits (
    run_id      bigint           NOT NULL,
    unit_key    text             NOT NULL,
    analysis    text             NOT NULL,
    model       text             NOT NULL,
    site        text             NOT NULL,
    feature     integer          NOT NULL,
    direction   text             NOT NULL CHECK (direction IN ('promoted', 'suppressed')),
    rank        integer          NOT NULL CHECK (rank >= 1),
    token       integer          NOT NULL,
    token_text  text             NOT NULL,
    effect      double precision NOT NULL,   -- logit change per unit of activation, centred over the vocabulary
    PRIMARY KEY (run_id, model, site, feature, analysis, direction, rank),
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX feature_logits_unit_idx ON feature_logits (run_id, unit_key);

-- The fixed log bins spelled out: bin 0 is (0, 1e-6), bin b = 1..100 is [10^(-6 + (b-1)/10), 10^(-6 + b/10)),
-- bin 101 is [1e4, +inf).
CREATE VIEW feature_histograms AS
SELECT s.run_id, s.analysis, s.model, s.site, s.feature, h.bin,
       CASE WHEN h.bin = 0 THEN 0::float8 ELSE power(10::float8, -6 + (h.bin - 1) / 10.0) END AS lower_edge,
       CASE WHEN h.bin = 101 THEN 'Infinity'::float8 ELSE power(10::float8, -6 + h.bin / 10.0) END AS upper_edge,
       h.count
FROM feature_stats s, unnest(s.histogram_bins, s.histogram_counts) AS h(bin, count);

-- A Neuronpedia link per feature of every SAE that carries a Neuronpedia id.
CREATE VIEW feature_links AS
SELECT f.run_id, f.analysis, f.model, f.site, s.sae, f.feature,
       'https://www.neuronpedia.org/' || s.neuronpedia_id || '/' || f.feature AS neuronpedia_url
FROM feature_stats f
JOIN feature_sites s USING (run_id, analysis, model, site)
WHERE s.neuronpedia_id IS NOT NULL AND s.neuronpedia_id <> '';
