-- Assessment (检查考核): per campaign year, a scoring scheme kept as data, and frozen results.
CREATE TABLE assessment_schemes (
    campaign_code text NOT NULL REFERENCES campaigns (code),
    year          integer NOT NULL,
    -- [{indicator, weight | per_task, cap}], checked by the service (domain::assessment).
    indicators    jsonb NOT NULL,
    version       integer NOT NULL DEFAULT 1,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    uuid REFERENCES users (id),
    PRIMARY KEY (campaign_code, year)
);

-- A frozen result is the whole computed ranking with its explanations, as it stood when frozen:
-- later changes to tasks cannot move it. A recomputation is a new version, with its reason.
CREATE TABLE assessment_results (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_code text NOT NULL REFERENCES campaigns (code),
    year          integer NOT NULL,
    version       integer NOT NULL CHECK (version >= 1),
    frozen_at     timestamptz NOT NULL DEFAULT now(),
    frozen_by     uuid REFERENCES users (id),
    reason        text NOT NULL CHECK (char_length(btrim(reason)) BETWEEN 1 AND 2000),
    scheme        jsonb NOT NULL,
    result        jsonb NOT NULL,
    CONSTRAINT assessment_results_version UNIQUE (campaign_code, year, version)
);

CREATE FUNCTION assessment_results_frozen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'GL003',
        MESSAGE = 'a frozen assessment result never changes: freeze a new version instead';
END
$$;
CREATE TRIGGER assessment_results_no_update BEFORE UPDATE OR DELETE ON assessment_results
    FOR EACH ROW EXECUTE FUNCTION assessment_results_frozen();
CREATE TRIGGER assessment_results_no_truncate BEFORE TRUNCATE ON assessment_results
    FOR EACH STATEMENT EXECUTE FUNCTION assessment_results_frozen();
