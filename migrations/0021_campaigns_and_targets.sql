-- Campaigns (e.g. 生态环境攻坚三年行动 2026–2028) and their yearly targets per township and task
-- family. A target states a number of tasks and/or a quantity in a unit; how far a township is
-- against it is always computed from the tasks, never stored.
CREATE TABLE campaigns (
    -- The campaign's code names it in URLs and exports; it never changes.
    code       text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9_-]{1,39}$'),
    name_zh    text NOT NULL CHECK (char_length(btrim(name_zh)) BETWEEN 1 AND 100),
    name_en    text NOT NULL CHECK (char_length(btrim(name_en)) BETWEEN 1 AND 100),
    first_year integer NOT NULL CHECK (first_year BETWEEN 2000 AND 2100),
    last_year  integer NOT NULL CHECK (last_year BETWEEN 2000 AND 2100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaigns_years CHECK (last_year >= first_year AND last_year - first_year < 10)
);

-- A task belongs to at most one campaign; for a target it counts in the year of its due date.
ALTER TABLE tasks ADD COLUMN campaign_code text REFERENCES campaigns (code);
CREATE INDEX tasks_campaign ON tasks (campaign_code, township_code, category) WHERE campaign_code IS NOT NULL;

CREATE TABLE campaign_targets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_code text NOT NULL REFERENCES campaigns (code),
    year          integer NOT NULL,
    township_code text NOT NULL REFERENCES townships (code) ON UPDATE CASCADE,
    category      text NOT NULL REFERENCES categories (code) ON UPDATE CASCADE,
    task_count    integer CHECK (task_count BETWEEN 1 AND 1000000),
    quantity      numeric CHECK (quantity > 0 AND quantity <= 1e12),
    unit          text CHECK (char_length(btrim(unit)) BETWEEN 1 AND 20),
    -- Whether a task counts towards the target once completed (reported done) or only once verified (销号).
    counted_when  text NOT NULL DEFAULT 'verified' CHECK (counted_when IN ('completed', 'verified')),
    version       integer NOT NULL DEFAULT 1,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    uuid REFERENCES users (id),
    CONSTRAINT campaign_targets_unit CHECK ((quantity IS NULL) = (unit IS NULL)),
    CONSTRAINT campaign_targets_something CHECK (task_count IS NOT NULL OR quantity IS NOT NULL),
    CONSTRAINT campaign_targets_one UNIQUE (campaign_code, year, township_code, category)
);

-- Who set, changed or removed what, and why: kept forever, like the tasks' history.
CREATE TABLE campaign_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_code text NOT NULL REFERENCES campaigns (code),
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      uuid REFERENCES users (id),
    kind          text NOT NULL CHECK (kind IN ('campaign_created', 'campaign_updated', 'target_set',
                      'target_changed', 'target_removed', 'tasks_joined', 'tasks_left', 'scheme_set',
                      'result_frozen')),
    -- What the event is about: a target's year/township/family, a scheme's year.
    subject       text,
    reason        text CHECK (char_length(reason) <= 2000),
    changes       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX campaign_events_campaign ON campaign_events (campaign_code, id);

CREATE FUNCTION campaign_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'GL003',
        MESSAGE = 'campaign history is append-only: events cannot be changed or deleted';
END
$$;
CREATE TRIGGER campaign_events_no_update BEFORE UPDATE OR DELETE ON campaign_events
    FOR EACH ROW EXECUTE FUNCTION campaign_events_append_only();
CREATE TRIGGER campaign_events_no_truncate BEFORE TRUNCATE ON campaign_events
    FOR EACH STATEMENT EXECUTE FUNCTION campaign_events_append_only();
