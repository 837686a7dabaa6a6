-- Undefined results: a measure that has no value (a constant side, too little signal) is stored as NULL with the
-- reason, never as a number; a stored value is always finite.
ALTER TABLE metrics ALTER COLUMN value DROP NOT NULL;
ALTER TABLE metrics ADD COLUMN undefined_reason text;
-- Rows written before: a NaN or infinity becomes what it meant.
UPDATE metrics SET undefined_reason = 'stored as ' || value::text || ' before undefined results were recorded as such', value = NULL
WHERE value IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8);
ALTER TABLE metrics ADD CONSTRAINT metrics_value_or_reason
    CHECK ((value IS NULL) = (undefined_reason IS NOT NULL));
ALTER TABLE metrics ADD CONSTRAINT metrics_value_finite
    CHECK (value IS NULL OR value NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8));
