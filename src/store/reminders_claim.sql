-- The next delivery due, locked; a delivery another instance holds is skipped, not waited for.
SELECT d.id, d.channel, d.target, d.attempts, r.kind, r.day, r.counts, r.items, r.message,
       coalesce(t.name, p.name_zh, r.unit_code) AS unit_name,
       c.robot_kind, c.robot_url, c.robot_secret
FROM reminder_deliveries d
JOIN reminders r ON r.id = d.reminder_id
LEFT JOIN townships t ON r.unit_kind = 'township' AND t.code = r.unit_code
LEFT JOIN departments p ON r.unit_kind = 'department' AND p.code = r.unit_code
LEFT JOIN reminder_channels c ON c.unit_kind = r.unit_kind AND c.unit_code = r.unit_code
WHERE d.status = 'pending' AND d.next_attempt_at <= now()
ORDER BY d.next_attempt_at, d.id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
