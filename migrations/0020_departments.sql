-- Responsible departments (牵头单位 / 配合单位): rows the administrator keeps, like task families. A
-- task has at most one lead department and any number of supporting ones, besides its township; a
-- department officer reports on the tasks its department leads, as a township officer does on its
-- township's.
CREATE TABLE departments (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    name_zh    text NOT NULL CHECK (char_length(btrim(name_zh)) BETWEEN 1 AND 100),
    name_en    text NOT NULL CHECK (char_length(btrim(name_en)) BETWEEN 1 AND 100),
    sort_order integer NOT NULL DEFAULT 0,
    -- A retired department keeps its tasks and history; no task can be given to it any more.
    retired_at timestamptz
);

ALTER TABLE tasks
    ADD COLUMN lead_department text REFERENCES departments (code),
    -- Supporting departments, each once; the lead is not among them (checked by the trigger below,
    -- with the lead's code in the message, since an array cannot hold foreign keys).
    ADD COLUMN support_departments text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(support_departments) <= 20);
CREATE INDEX tasks_lead_department ON tasks (lead_department) WHERE lead_department IS NOT NULL;
CREATE INDEX tasks_support_departments ON tasks USING gin (support_departments);

-- SQLSTATE GL006, DETAIL the offending code: the service turns it into a refusal naming it.
CREATE FUNCTION tasks_departments_valid() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.lead_department IS NOT DISTINCT FROM OLD.lead_department
       AND NEW.support_departments IS NOT DISTINCT FROM OLD.support_departments THEN
        RETURN NEW;
    END IF;
    SELECT d INTO bad FROM unnest(NEW.support_departments) d
    WHERE NOT EXISTS (SELECT FROM departments WHERE code = d) LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'GL006', DETAIL = bad,
            MESSAGE = format('there is no department ''%s''', bad);
    END IF;
    IF NEW.lead_department = ANY (NEW.support_departments) THEN
        RAISE EXCEPTION USING ERRCODE = 'GL006', DETAIL = NEW.lead_department,
            MESSAGE = format('the department ''%s'' leads this task, so it cannot also support it',
                             NEW.lead_department);
    END IF;
    IF cardinality(NEW.support_departments) <> (SELECT count(DISTINCT d) FROM unnest(NEW.support_departments) d) THEN
        RAISE EXCEPTION USING ERRCODE = 'GL006', DETAIL = '',
            MESSAGE = 'a department is named twice among the supporting departments';
    END IF;
    -- Only a newly given department must be open: a retired one stays on the tasks it already had.
    SELECT d INTO bad FROM unnest(array_append(NEW.support_departments, NEW.lead_department)) d
    JOIN departments ON code = d AND retired_at IS NOT NULL
    WHERE TG_OP = 'INSERT' OR NOT (d = OLD.lead_department OR d = ANY (OLD.support_departments))
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'GL006', DETAIL = bad,
            MESSAGE = format('the department ''%s'' is retired: no task can be given to it any more', bad);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_departments_valid BEFORE INSERT OR UPDATE OF lead_department, support_departments ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_departments_valid();

-- A department officer belongs to exactly one department, a township officer to one township,
-- staff to neither.
ALTER TABLE users
    ADD COLUMN department_code text REFERENCES departments (code),
    DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'bureau', 'township', 'department')),
    ADD CONSTRAINT users_department_iff_department_role
        CHECK ((role = 'department') = (department_code IS NOT NULL));

-- The administrator may require two-step verification of department officers too.
ALTER TABLE security_policy
    DROP CONSTRAINT security_policy_two_factor_roles_check,
    ADD CONSTRAINT security_policy_two_factor_roles_check
        CHECK (two_factor_roles <@ ARRAY['admin', 'bureau', 'township', 'department']::text[]);

-- The bureau chasing one task by hand (催办) is kept in the task's history like any other act.
ALTER TABLE task_events
    DROP CONSTRAINT task_events_kind_check,
    ADD CONSTRAINT task_events_kind_check CHECK (kind IN ('created', 'updated', 'reported', 'transition', 'chased'));

INSERT INTO departments (code, name_zh, name_en, sort_order) VALUES
    ('water',       '水利局',       'Water Resources Bureau',            1),
    ('housing',     '住建局',       'Housing and Construction Bureau',   2),
    ('agriculture', '农业农村局',   'Agriculture and Rural Affairs Bureau', 3),
    ('industry',    '工信局',       'Industry and IT Bureau',            4),
    ('ecology',     '生态环境局',   'Ecology and Environment Bureau',    5);
