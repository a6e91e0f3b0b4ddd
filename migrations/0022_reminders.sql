-- Reminders (催办): a daily digest per township and department of what needs chasing, and the
-- bureau's chases of single tasks; each is an item of the unit's in-app inbox and is delivered to
-- the unit's group robot and e-mail addresses.

-- The administrator's settings. One row.
CREATE TABLE reminder_settings (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    -- A task due today or within the next this many days is "due soon".
    due_within_days  integer NOT NULL DEFAULT 7 CHECK (due_within_days BETWEEN 1 AND 90),
    -- An open task whose latest report (or creation) is older than this many days is "stale".
    stale_after_days integer NOT NULL DEFAULT 30 CHECK (stale_after_days BETWEEN 1 AND 365),
    -- When the day's digests are made, in the county's time zone (the connections' TimeZone).
    run_at           time NOT NULL DEFAULT '08:00' CHECK (run_at = date_trunc('minute', run_at)),
    changed_at       timestamptz NOT NULL DEFAULT now(),
    changed_by       uuid REFERENCES users (id)
);
INSERT INTO reminder_settings DEFAULT VALUES;

-- Where a unit's reminders go besides the inbox: one group robot and any number of addresses.
-- A WeCom robot is keyed by its URL; a DingTalk robot may also require signing with a secret.
CREATE TABLE reminder_channels (
    unit_kind    text NOT NULL CHECK (unit_kind IN ('township', 'department')),
    unit_code    text NOT NULL,
    robot_kind   text CHECK (robot_kind IN ('wecom', 'dingtalk')),
    robot_url    text CHECK (robot_url ~ '^https?://[^[:space:]]+$' AND char_length(robot_url) <= 500),
    robot_secret text CHECK (char_length(robot_secret) BETWEEN 1 AND 200),
    emails       text[] NOT NULL DEFAULT '{}' CHECK (cardinality(emails) <= 20),
    changed_at   timestamptz NOT NULL DEFAULT now(),
    changed_by   uuid REFERENCES users (id),
    PRIMARY KEY (unit_kind, unit_code),
    CONSTRAINT reminder_channels_robot_whole CHECK ((robot_kind IS NULL) = (robot_url IS NULL)),
    CONSTRAINT reminder_channels_secret_dingtalk CHECK (robot_secret IS NULL OR robot_kind = 'dingtalk')
);

-- One row per day the digests were made: the transaction that makes them inserts it first, so a
-- second instance (or a restart) finds the day done, or waits for it and then finds it done.
CREATE TABLE reminder_runs (
    day         date PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    digests     integer NOT NULL DEFAULT 0,
    tasks       integer NOT NULL DEFAULT 0
);

-- Inbox items: a unit's daily digest, or one chase of one task. Everyone of the unit sees them
-- (township officers of the township, department officers of the department), so no row per user;
-- what each has read is kept apart.
CREATE TABLE reminders (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind       text NOT NULL CHECK (kind IN ('digest', 'chase')),
    unit_kind  text NOT NULL CHECK (unit_kind IN ('township', 'department')),
    unit_code  text NOT NULL,
    day        date NOT NULL,
    -- Digest: how many tasks each section holds, e.g. {"due_soon": 3, "overdue": 1, ...}.
    counts     jsonb NOT NULL DEFAULT '{}',
    -- The tasks named: [{"section", "id", "code", "title", "due_date", "last_report_at"}], the
    -- first few of each section (the counts say how many there are).
    items      jsonb NOT NULL DEFAULT '[]',
    -- Chase: the task and the bureau's words.
    task_id    uuid REFERENCES tasks (id),
    message    text CHECK (char_length(message) <= 1000),
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reminders_chase_names_task CHECK ((kind = 'chase') = (task_id IS NOT NULL AND message IS NOT NULL))
);
-- Exactly one digest per unit and day, however many runs there are.
CREATE UNIQUE INDEX reminders_one_digest ON reminders (unit_kind, unit_code, day) WHERE kind = 'digest';
CREATE INDEX reminders_inbox ON reminders (unit_kind, unit_code, created_at DESC);

CREATE TABLE reminder_reads (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reminder_id uuid NOT NULL REFERENCES reminders (id),
    read_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, reminder_id)
);

-- Each reminder to each channel of its unit: a robot (the unit's robot as configured when it is
-- sent, so a corrected URL helps the retries) or one e-mail address. Claimed with FOR UPDATE SKIP
-- LOCKED, so two instances never send one delivery at once; retried with backoff until sent or
-- given up ('failed').
CREATE TABLE reminder_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reminder_id     uuid NOT NULL REFERENCES reminders (id),
    channel         text NOT NULL CHECK (channel IN ('robot', 'email')),
    -- The address, for e-mail; '' for the robot.
    target          text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (reminder_id, channel, target)
);
CREATE INDEX reminder_deliveries_due ON reminder_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX reminder_deliveries_recent ON reminder_deliveries (created_at DESC);
