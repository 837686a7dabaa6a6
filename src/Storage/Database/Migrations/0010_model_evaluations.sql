-- What each model of a run is known to score on held-out text, and the baselines it was compared with, copied when
-- the run is created from what the model's folder says about itself (Sweep's demo models: sweep-demo.json), so a
-- report never reads model folders that may have moved. One row per model (role 'model') and per baseline (role
-- 'baseline', e.g. the demo's unigram model, recorded once per run).
CREATE TABLE model_evaluations (
    run_id          bigint           NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    role            text             NOT NULL CHECK (role IN ('model', 'baseline')),
    model           text             NOT NULL,   -- the job's model name, or the baseline's name
    description     text             NOT NULL,
    dataset         text             NOT NULL,   -- what was predicted
    loss            double precision NOT NULL CHECK (loss = loss AND loss < 'Infinity'::float8),   -- mean next-token cross-entropy, nats per token
    perplexity      double precision NOT NULL CHECK (perplexity = perplexity AND perplexity < 'Infinity'::float8),   -- exp(loss)
    n_tokens        bigint           NOT NULL,   -- tokens predicted
    parameters      bigint,                      -- the model's parameter count (NULL for a baseline)
    training_steps  integer,                     -- 0: an untrained (random-weight) model; NULL for a baseline
    training_tokens bigint,
    source          text             NOT NULL,   -- the file the numbers were read from
    PRIMARY KEY (run_id, role, model)
);
