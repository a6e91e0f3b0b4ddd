-- One chase ($1: the task, $2: the bureau's words, $3: who): an inbox item for the task's township
-- and one for its lead department, and their deliveries.
WITH t AS (
    SELECT id, code, title, due_date, township_code, lead_department FROM tasks WHERE id = $1
), inserted AS (
    INSERT INTO reminders (kind, unit_kind, unit_code, day, task_id, message, created_by, items)
    SELECT 'chase', u.kind, u.unit, current_date, t.id, $2, $3,
           jsonb_build_array(jsonb_build_object('section', 'chase', 'id', t.id, 'code', t.code,
                                                'title', t.title, 'due_date', t.due_date))
    FROM t CROSS JOIN LATERAL (VALUES ('township', t.township_code), ('department', t.lead_department)) u(kind, unit)
    WHERE u.unit IS NOT NULL
    RETURNING id, unit_kind, unit_code
), queued AS (
    INSERT INTO reminder_deliveries (reminder_id, channel, target)
    SELECT i.id, 'robot', '' FROM inserted i
    JOIN reminder_channels c ON c.unit_kind = i.unit_kind AND c.unit_code = i.unit_code AND c.robot_url IS NOT NULL
    UNION ALL
    SELECT i.id, 'email', e FROM inserted i
    JOIN reminder_channels c ON c.unit_kind = i.unit_kind AND c.unit_code = i.unit_code
    CROSS JOIN LATERAL unnest(c.emails) e
    RETURNING 1
)
SELECT array_agg(id ORDER BY unit_kind DESC) AS reminders,
       array_agg(unit_kind || ':' || unit_code ORDER BY unit_kind DESC) AS units,
       (SELECT count(*) FROM queued) AS deliveries
FROM inserted
