-- The day's digests ($1: the day) in one pass over the open tasks: each task flagged by section,
-- spread over its township and lead department, counted per unit and section, the first few of
-- each section named. Then the deliveries to each new digest's unit's robot and addresses.
WITH s AS (
    SELECT due_within_days, stale_after_days FROM reminder_settings
), flagged AS (
    -- Tasks with nothing to chase are dropped before they are spread over units and sections.
    SELECT * FROM (
        SELECT t.id, t.code, t.title, t.due_date, t.township_code, t.lead_department,
               t.due_date < $1 AS overdue,
               t.due_date BETWEEN $1 AND $1 + s.due_within_days AS due_soon,
               coalesce(t.last_report_at, t.created_at) < ($1 - s.stale_after_days)::timestamptz AS stale,
               -- Returned tasks are few: the latest return is looked up for them only.
               t.return_reason IS NOT NULL AND t.status = 'in_progress'
                   AND coalesce(t.last_report_at < (SELECT max(e.at) FROM task_events e
                                                    WHERE e.task_id = t.id AND e.action = 'return'), true) AS returned
        FROM tasks t CROSS JOIN s
        WHERE t.status IN ('planned', 'in_progress')
    ) open
    WHERE overdue OR due_soon OR stale OR returned
), listed AS (
    SELECT u.kind, u.code AS unit, f.id, f.code, f.title, f.due_date, x.section,
           row_number() OVER (PARTITION BY u.kind, u.code, x.section ORDER BY f.due_date NULLS LAST, f.code) AS n
    FROM flagged f
    CROSS JOIN LATERAL (VALUES ('township', f.township_code), ('department', f.lead_department)) u(kind, code)
    CROSS JOIN LATERAL (VALUES ('overdue', f.overdue), ('returned', f.returned), ('due_soon', f.due_soon),
                               ('stale', f.stale)) x(section, flagged)
    WHERE x.flagged AND u.code IS NOT NULL
), digests AS (
    SELECT kind, unit,
           jsonb_build_object('overdue', count(*) FILTER (WHERE section = 'overdue'),
                              'returned', count(*) FILTER (WHERE section = 'returned'),
                              'due_soon', count(*) FILTER (WHERE section = 'due_soon'),
                              'stale', count(*) FILTER (WHERE section = 'stale')) AS counts,
           jsonb_agg(jsonb_build_object('section', section, 'id', id, 'code', code, 'title', title, 'due_date', due_date)
                     ORDER BY array_position(ARRAY['overdue', 'returned', 'due_soon', 'stale'], section), n)
               FILTER (WHERE n <= 20) AS items
    FROM listed
    GROUP BY kind, unit
), inserted AS (
    INSERT INTO reminders (kind, unit_kind, unit_code, day, counts, items)
    SELECT 'digest', kind, unit, $1, counts, items FROM digests
    ON CONFLICT (unit_kind, unit_code, day) WHERE kind = 'digest' DO NOTHING
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
SELECT (SELECT count(*) FROM inserted) AS digests,
       (SELECT count(*) FROM queued) AS deliveries,
       (SELECT count(DISTINCT id) FROM listed) AS tasks
