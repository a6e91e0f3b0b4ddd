-- Accounts, sessions and tokens; the task workflow (reports, photos) and the append-only history.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    display_name  text NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 100),
    role          text NOT NULL CHECK (role IN ('admin', 'bureau', 'township')),
    -- A township officer belongs to exactly one township; staff to none.
    township_code text REFERENCES townships (code),
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_township_iff_township_role CHECK ((role = 'township') = (township_code IS NOT NULL))
);

-- Only hashes of the secrets are stored: a copy of the database does not log anyone in.
CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

ALTER TABLE tasks
    ADD COLUMN created_by     uuid REFERENCES users (id),
    ADD COLUMN updated_by     uuid REFERENCES users (id),
    ADD COLUMN last_report_at timestamptz,
    -- The bureau's latest reason for sending the work back (退回整改), shown to the township until
    -- the task is reported complete again.
    ADD COLUMN return_reason  text CHECK (char_length(return_reason) <= 2000),
    ADD COLUMN cancel_reason  text CHECK (char_length(cancel_reason) <= 2000);

-- Tasks cancelled before reasons were recorded get a placeholder, so the rule below can hold.
UPDATE tasks SET cancel_reason = '（取消原因未记录）' WHERE status = 'cancelled';
ALTER TABLE tasks ADD CONSTRAINT tasks_cancel_has_reason
    CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL));

CREATE TABLE reports (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id         uuid NOT NULL REFERENCES tasks (id),
    author_id       uuid NOT NULL REFERENCES users (id),
    -- The client's key for this report: a resend with the same key returns the first result.
    idempotency_key text NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
    -- Fingerprint of the request, so a key reused for a different report is refused.
    request_hash    bytea NOT NULL,
    action          text CHECK (action IN ('start', 'complete')),
    progress        smallint CHECK (progress BETWEEN 0 AND 100),
    note            text NOT NULL DEFAULT '' CHECK (char_length(note) <= 5000),
    status_before   text NOT NULL,
    status_after    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (author_id, idempotency_key)
);
CREATE INDEX reports_task ON reports (task_id, created_at);

-- Photos are stored once by content hash in the data folder; rows say which report shows which.
CREATE TABLE report_photos (
    report_id  uuid NOT NULL REFERENCES reports (id),
    position   smallint NOT NULL CHECK (position BETWEEN 0 AND 5),
    sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    bytes      integer NOT NULL CHECK (bytes BETWEEN 1 AND 10485760),
    PRIMARY KEY (report_id, position)
);
CREATE INDEX report_photos_sha256 ON report_photos (sha256);

-- The audit trail: every change to a task, kept forever.
CREATE TABLE task_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id    uuid NOT NULL REFERENCES tasks (id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   uuid REFERENCES users (id),
    kind       text NOT NULL CHECK (kind IN ('created', 'updated', 'reported', 'transition')),
    action     text,
    status_before text,
    status_after  text,
    reason     text,
    report_id  uuid REFERENCES reports (id),
    -- For 'created' the initial values; for 'updated' {field: {"before": .., "after": ..}}.
    changes    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX task_events_task ON task_events (task_id, id);

CREATE FUNCTION task_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'GL003',
        MESSAGE = 'task history is append-only: events cannot be changed or deleted';
END
$$;
CREATE TRIGGER task_events_no_update BEFORE UPDATE OR DELETE ON task_events
    FOR EACH ROW EXECUTE FUNCTION task_events_append_only();
CREATE TRIGGER task_events_no_truncate BEFORE TRUNCATE ON task_events
    FOR EACH STATEMENT EXECUTE FUNCTION task_events_append_only();
