-- The bureau's review queue (待审核): which reports each user has seen, and the progress the bureau
-- last accepted (at the start of the work or its verification), which a returned task goes back to.

CREATE TABLE report_seen (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    report_id uuid NOT NULL REFERENCES reports (id),
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, report_id)
);

ALTER TABLE tasks
    ADD COLUMN accepted_progress smallint NOT NULL DEFAULT 0 CHECK (accepted_progress BETWEEN 0 AND 100);
-- Verified tasks were accepted as they are.
UPDATE tasks SET accepted_progress = progress WHERE status = 'verified';

-- Returns are looked up per task, latest first, for every report in the queue.
CREATE INDEX task_events_returns ON task_events (task_id, at) WHERE action = 'return';
