-- A task family can be retired: its tasks stay where they are (shown, filtered, exported, rolled
-- up), but no new task may be filed under it, nor an existing task moved into it. Retiring is
-- undone by clearing the time.
ALTER TABLE categories ADD COLUMN retired_at timestamptz;

-- The rule holds for every way a task is written (the API, OGC API - Features, imports, scripts
-- in psql), so it lives here. A trigger of its own, apart from tasks_before_write, so it fires
-- only when the family is chosen: an insert, or an update that changes it. SQLSTATE GL005 with
-- the family's code as DETAIL, which the service turns into a refusal naming it.
CREATE FUNCTION tasks_family_open() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.category IS NOT DISTINCT FROM OLD.category THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT FROM categories WHERE code = NEW.category AND retired_at IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'GL005', DETAIL = NEW.category,
            MESSAGE = format('the task family ''%s'' is retired: its tasks are kept, but no task can be '
                             'filed under it any more', NEW.category);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_family_open BEFORE INSERT OR UPDATE OF category ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_family_open();
