-- Labelled prompts and what the site measures that look inside one model store: concept_means, contrast,
-- selectivity and pca (docs/schema.md). Result rows belong to the unit that computed them and are replaced
-- with it; vectors over a site's dimensions are float8[] (index 1 = dimension 0), everything else one row per
-- label, feature or component, so plain SQL answers "which features separate friday from neutral".

-- The labels of every sequence of a run's corpus (corpus.labels), one row per sequence and label field.
CREATE TABLE corpus_labels (
    run_id  bigint  NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq     integer NOT NULL,   -- corpus-wide sequence index, a shard's seq column
    line    integer NOT NULL,   -- 1-based line of the document in the corpus file
    field   text    NOT NULL,
    value   text    NOT NULL,
    PRIMARY KEY (run_id, seq, field)
);
CREATE INDEX corpus_labels_value_idx ON corpus_labels (run_id, field, value);

CREATE TABLE concept_means (
    run_id       bigint           NOT NULL,
    unit_key     text             NOT NULL,
    analysis     text             NOT NULL,
    model        text             NOT NULL,
    site         text             NOT NULL,
    label        text             NOT NULL,
    label_order  integer          NOT NULL,   -- the label's place in the analysis's label order, from 0
    n            bigint           NOT NULL,   -- items (reduced prompts) with this label
    reduction    text             NOT NULL CHECK (reduction IN ('last', 'mean', 'every', 'marker')),
    mean         double precision[],          -- NULL when n = 0
    variance     double precision[],          -- unbiased (n - 1); NULL when n < 2
    note         text,                        -- why a part is NULL
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX concept_means_unit_idx ON concept_means (run_id, unit_key);
CREATE INDEX concept_means_lookup_idx ON concept_means (run_id, analysis, site, label);

-- Per label and site, the contrast as a whole.
CREATE TABLE contrast_labels (
    run_id       bigint  NOT NULL,
    unit_key     text    NOT NULL,
    analysis     text    NOT NULL,
    model        text    NOT NULL,
    site         text    NOT NULL,
    label        text    NOT NULL,
    baseline     text    NOT NULL,   -- the baseline label, or 'rest' for all other labels pooled
    n_label      bigint  NOT NULL,
    n_baseline   bigint  NOT NULL,
    tested       integer NOT NULL,   -- features with a defined p-value
    significant  integer NOT NULL,   -- features with q < 0.05 (Benjamini-Hochberg)
    note         text,
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX contrast_labels_unit_idx ON contrast_labels (run_id, unit_key);

-- The top-k features of each label's contrast.
CREATE TABLE contrasts (
    run_id         bigint           NOT NULL,
    unit_key       text             NOT NULL,
    analysis       text             NOT NULL,
    model          text             NOT NULL,
    site           text             NOT NULL,
    label          text             NOT NULL,
    baseline       text             NOT NULL,
    rank           integer          NOT NULL CHECK (rank >= 1),
    feature        integer          NOT NULL,
    mean_label     double precision NOT NULL,
    mean_baseline  double precision NOT NULL,
    difference     double precision NOT NULL,
    t              double precision,   -- Welch's t; NULL when undefined (note)
    df             double precision,   -- Welch-Satterthwaite degrees of freedom
    p              double precision,   -- two-sided
    q              double precision,   -- Benjamini-Hochberg over the label's features
    cohens_d       double precision,   -- difference / pooled SD
    n_label        bigint           NOT NULL,
    n_baseline     bigint           NOT NULL,
    note           text,
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX contrasts_unit_idx ON contrasts (run_id, unit_key);
CREATE INDEX contrasts_lookup_idx ON contrasts (run_id, analysis, site, label, rank);

-- The top-k specialists of each label.
CREATE TABLE selectivity (
    run_id           bigint             NOT NULL,
    unit_key         text               NOT NULL,
    analysis         text               NOT NULL,
    model            text               NOT NULL,
    site             text               NOT NULL,
    feature          integer            NOT NULL,
    preferred_label  text               NOT NULL,
    rank             integer            NOT NULL CHECK (rank >= 1),   -- among the features preferring the label
    index_kind       text               NOT NULL CHECK (index_kind IN ('ratio', 'dprime')),
    selectivity      double precision   NOT NULL,
    preferred_mean   double precision   NOT NULL,
    others_mean      double precision   NOT NULL,   -- unweighted mean of the other labels' means
    labels           text[]             NOT NULL,   -- the labels compared, in order
    means            double precision[] NOT NULL,   -- the feature's mean per label, in that order
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX selectivity_unit_idx ON selectivity (run_id, unit_key);
CREATE INDEX selectivity_lookup_idx ON selectivity (run_id, analysis, site, preferred_label, rank);

CREATE TABLE pca_components (
    run_id                    bigint             NOT NULL,
    unit_key                  text               NOT NULL,
    analysis                  text               NOT NULL,
    model                     text               NOT NULL,
    site                      text               NOT NULL,
    source                    text               NOT NULL CHECK (source IN ('label_means', 'decoder', 'sample')),
    component                 integer            NOT NULL CHECK (component >= 1),
    explained_variance        double precision   NOT NULL,   -- eigenvalue / (items - 1)
    explained_variance_ratio  double precision   NOT NULL,   -- of the total variance
    items                     integer            NOT NULL,
    cyclic                    boolean            NOT NULL,   -- the label order is a cycle (the report closes the loop)
    loading                   double precision[] NOT NULL,   -- the unit component vector over the site's dimensions
    note                      text,
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX pca_components_unit_idx ON pca_components (run_id, unit_key);

-- Points on the components: a label's point (item NULL) or one item's (a sampled prompt, a decoder row).
CREATE TABLE pca_coordinates (
    run_id       bigint           NOT NULL,
    unit_key     text             NOT NULL,
    analysis     text             NOT NULL,
    model        text             NOT NULL,
    site         text             NOT NULL,
    source       text             NOT NULL CHECK (source IN ('label_means', 'decoder', 'sample')),
    label        text,             -- the label (of the item); NULL for a decoder row
    label_order  integer,          -- the label's place in the analysis's order, from 0
    item         bigint,           -- NULL for a label's point; the feature for a decoder row; seq << 32 | pos for a sampled prompt
    component    integer          NOT NULL CHECK (component >= 1),
    value        double precision NOT NULL,
    FOREIGN KEY (run_id, unit_key) REFERENCES units (run_id, unit_key) ON DELETE CASCADE
);
CREATE INDEX pca_coordinates_unit_idx ON pca_coordinates (run_id, unit_key);
CREATE INDEX pca_coordinates_lookup_idx ON pca_coordinates (run_id, analysis, site, component);
