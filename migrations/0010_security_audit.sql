-- Sessions end after a while without use (the idle timeout), besides their absolute lifetime.
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();

-- The security events an assessor reads (logins, logouts, password and token changes, account
-- changes, exports with contact details): append-only, like the task history. The kinds are the
-- service's closed list (domain::audit::SecurityEventKind); the table only insists on their shape.
CREATE TABLE security_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    kind       text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{1,39}$'),
    -- Who acted, when known; `username` as typed for a failed login (no account may match).
    actor_id   uuid REFERENCES users (id),
    username   text NOT NULL DEFAULT '' CHECK (char_length(username) <= 200),
    -- The account acted upon (account changes, logging someone out), when not the actor.
    subject_id uuid REFERENCES users (id),
    address    text NOT NULL DEFAULT '' CHECK (char_length(address) <= 100),
    user_agent text NOT NULL DEFAULT '' CHECK (char_length(user_agent) <= 500),
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX security_events_at ON security_events (at DESC, id DESC);
CREATE INDEX security_events_kind ON security_events (kind, at DESC);

CREATE FUNCTION security_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'GL003',
        MESSAGE = 'the security audit trail is append-only: events cannot be changed or deleted';
END
$$;
CREATE TRIGGER security_events_no_update BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION security_events_append_only();
CREATE TRIGGER security_events_no_truncate BEFORE TRUNCATE ON security_events
    FOR EACH STATEMENT EXECUTE FUNCTION security_events_append_only();
