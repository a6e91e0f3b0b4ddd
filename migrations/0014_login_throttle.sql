-- Failed logins, per username and per client address, counted where every instance of the service
-- sees them: a count kept in each process let two instances allow twice the guesses. A row counts
-- the failures since `since`; one after the window (15 minutes) starts a new count. Unlogged: the
-- counts are worth nothing after a crash of the database (an attacker gains one window), and
-- writing them to the WAL would cost every failed login a flush for no one's benefit.
CREATE UNLOGGED TABLE login_failures (
    key   text PRIMARY KEY,
    count integer NOT NULL CHECK (count > 0),
    since timestamptz NOT NULL
);
CREATE INDEX login_failures_since ON login_failures (since);
