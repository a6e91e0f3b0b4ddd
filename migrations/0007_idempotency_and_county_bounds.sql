-- Two guards on what gets stored: one answer per Idempotency-Key for every create, and no geometry
-- far outside the county.

-- 1. Idempotency. A create sent with an Idempotency-Key stores its answer here, in the same
-- transaction as what it created: a crash between the two cannot keep the create without the key,
-- so a retry either finds the first answer or does the work for the first time. Keys are scoped to
-- the caller and to the endpoint (method and path) they were sent to.
CREATE TABLE idempotency_keys (
    caller_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    endpoint    text NOT NULL CHECK (char_length(endpoint) BETWEEN 1 AND 300),
    -- SHA-256 of the key, not the key: for a new API token the key also unseals the stored secret.
    key_hash    bytea NOT NULL CHECK (octet_length(key_hash) = 32),
    -- What the request asked for, so a key reused for a different request is refused.
    fingerprint bytea NOT NULL,
    status      smallint NOT NULL CHECK (status BETWEEN 200 AND 299),
    -- The answer's headers a client relies on (content-type, location, etag), by lower-case name.
    headers     jsonb NOT NULL DEFAULT '{}',
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller_id, endpoint, key_hash)
);

-- Reports kept their keys in their own columns; they move here, with the answer as the report
-- endpoint gave it, so a report queued offline before this release is still stored once.
INSERT INTO idempotency_keys (caller_id, endpoint, key_hash, fingerprint, status, headers, body, created_at)
SELECT r.author_id,
       'POST /api/tasks/' || r.task_id || '/reports',
       sha256(convert_to(r.idempotency_key, 'UTF8')),
       r.request_hash,
       201,
       '{"content-type": "application/json"}',
       convert_to(jsonb_build_object(
           'id', r.id, 'task_id', r.task_id, 'author', u.username, 'author_name', u.display_name,
           'action', r.action, 'progress', r.progress, 'note', r.note,
           'status_before', r.status_before, 'status_after', r.status_after,
           'created_at', to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'photos', coalesce((SELECT jsonb_agg(jsonb_build_object('url', '/api/photos/' || p.sha256,
                                                                   'media_type', p.media_type, 'bytes', p.bytes)
                                               ORDER BY p.position)
                               FROM report_photos p WHERE p.report_id = r.id), '[]'::jsonb)
       )::text, 'UTF8'),
       r.created_at
FROM reports r JOIN users u ON u.id = r.author_id;

ALTER TABLE reports
    ALTER COLUMN idempotency_key DROP NOT NULL,
    ALTER COLUMN request_hash DROP NOT NULL;
COMMENT ON COLUMN reports.idempotency_key IS 'superseded by idempotency_keys; kept for reports filed before it';
COMMENT ON COLUMN reports.request_hash IS 'superseded by idempotency_keys; kept for reports filed before it';

-- 2. The county's bounds. A line ending near longitude 0 still touches a township at its other end,
-- so township assignment alone let it through and drew it across the public map. Every position of
-- a geometry must lie in a township or within a tolerance of one: `greenledger.outside_tolerance_m`
-- (metres, set per connection by the service from its configuration; 2,000 when unset). The bureau
-- may accept a geometry beyond it for one write (`greenledger.accept_outside` = 'on' for the
-- transaction); the trigger then leaves in `greenledger.outside_accepted` what it accepted, for the
-- task's history.

-- The position of `g` farthest from the county, when some position lies outside every township:
-- its JSON pointer below the GeoJSON `coordinates`, the township nearest to it and the distance in
-- metres (on the spheroid). No row when every position lies in a township.
CREATE FUNCTION outside_county(g geometry)
RETURNS TABLE (pointer text, township text, township_name text, distance_m float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE GeometryType(g)
               WHEN 'POINT' THEN ''
               WHEN 'MULTIPOINT' THEN '/' || (d.path[1] - 1)
               ELSE '/' || array_to_string(ARRAY(SELECT p - 1 FROM unnest(d.path) WITH ORDINALITY AS u(p, o)
                                                 ORDER BY o), '/')
           END,
           n.code, n.name, n.distance_m
    FROM ST_DumpPoints(g) AS d
    -- The planar nearest few by index, then the true distance among them: degrees of longitude
    -- and latitude differ in length, so the planar nearest is not always the nearest.
    CROSS JOIN LATERAL (
        SELECT c.code, c.name, ST_Distance(c.boundary::geography, d.geom::geography) AS distance_m
        FROM (SELECT t.code, t.name, t.boundary FROM townships t ORDER BY t.boundary <-> d.geom LIMIT 3) c
        ORDER BY 3, 1
        LIMIT 1
    ) n
    -- Most geometries lie within one township: one indexed test settles them.
    WHERE NOT EXISTS (SELECT 1 FROM townships t WHERE ST_Covers(t.boundary, g))
      AND NOT EXISTS (SELECT 1 FROM townships t WHERE ST_Intersects(t.boundary, d.geom))
    ORDER BY n.distance_m DESC, d.path
    LIMIT 1
$$;

-- The tolerance in force, in metres.
CREATE FUNCTION outside_tolerance_m() RETURNS float8
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('greenledger.outside_tolerance_m', true), '')::float8, 2000)
$$;

-- How `g` stands to the county's bounds, when some position lies outside every township: whether
-- it lies beyond the tolerance, that position's pointer, the nearest township, the refusal's text
-- and what the history records when the bureau accepts it. Used by the trigger below for single
-- writes and by the import for whole batches, so both say the same.
CREATE FUNCTION county_bounds(g geometry)
RETURNS TABLE (beyond boolean, pointer text, nearest text, message text, accepted jsonb)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT o.distance_m > t.m, o.pointer, o.township,
           format('this position lies %s km from the nearest township, %s (%s), beyond the %s km the county '
                  'allows: check the coordinates or, if the task really lies there, send it again with '
                  'outside=accept',
                  round((o.distance_m / 1000)::numeric, 1), o.township_name, o.township,
                  round((t.m / 1000)::numeric, 1)),
           jsonb_build_object('nearest_township', o.township, 'distance_m', round(o.distance_m::numeric, 1),
                              'tolerance_m', t.m)
    FROM outside_county(g) o, outside_tolerance_m() AS t(m)
$$;

-- Refuses (GL004) a geometry with a position beyond the tolerance, with the position's pointer as
-- DETAIL; or, when the bureau accepted it, leaves what was accepted for the history. Returns the
-- township nearest to a geometry that lies partly outside every township.
CREATE FUNCTION check_county_bounds(g geometry) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    b record;
BEGIN
    PERFORM set_config('greenledger.outside_accepted', '', true);
    SELECT * INTO b FROM county_bounds(g);
    IF b.beyond AND current_setting('greenledger.accept_outside', true) = 'on' THEN
        PERFORM set_config('greenledger.outside_accepted', b.accepted::text, true);
    ELSIF b.beyond THEN
        RAISE EXCEPTION USING ERRCODE = 'GL004', MESSAGE = b.message, DETAIL = b.pointer;
    END IF;
    RETURN b.nearest;
END
$$;

CREATE OR REPLACE FUNCTION tasks_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    seq integer;
    yr integer;
    bulk boolean;
    assigned text;
    nearest text;
BEGIN
    IF TG_OP = 'INSERT' AND NEW.code IS NULL THEN
        yr := extract(year FROM current_date);
        INSERT INTO task_code_counters AS c (category, year, last) VALUES (NEW.category, yr, 1)
        ON CONFLICT (category, year) DO UPDATE SET last = c.last + 1
        RETURNING last INTO seq;
        SELECT prefix || '-' || yr || '-' || lpad(seq::text, greatest(4, length(seq::text)), '0') INTO NEW.code
        FROM categories WHERE code = NEW.category;
    END IF;

    -- The import checks bounds and assigns townships set-based, and says so for its transaction.
    bulk := TG_OP = 'INSERT' AND NEW.township_code IS NOT NULL
            AND current_setting('greenledger.bulk_assigned', true) = 'on';

    IF NOT bulk AND (TG_OP = 'INSERT' OR NEW.geom IS DISTINCT FROM OLD.geom) THEN
        assigned := township_for(NEW.geom);
        -- Swapped axes first: that mistake has a better message than the distance.
        IF assigned IS NULL AND township_for(ST_FlipCoordinates(NEW.geom)) IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'GL002',
                MESSAGE = 'the geometry lies outside the county, but would lie inside it with '
                          'longitude and latitude swapped: GeoJSON positions are [longitude, latitude]';
        END IF;
        -- A geometry within the tolerance (or accepted beyond it) that touches no township goes to
        -- the nearest one.
        nearest := check_county_bounds(NEW.geom);
        assigned := coalesce(assigned, nearest);
    END IF;

    -- Assignment costs an intersection with every touching township: redo it only when it can change.
    IF NOT bulk AND NOT NEW.township_overridden
       AND (TG_OP = 'INSERT' OR OLD.township_overridden OR NEW.geom IS DISTINCT FROM OLD.geom) THEN
        NEW.township_code := coalesce(assigned, township_for(NEW.geom),
                                      (SELECT o.township FROM outside_county(NEW.geom) o));
        IF NEW.township_code IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'GL001',
                MESSAGE = 'the geometry touches no township of the county';
        END IF;
    END IF;

    IF NEW.status IN ('completed', 'verified') THEN
        NEW.completed_at := coalesce(NEW.completed_at, now());
    ELSE
        NEW.completed_at := NULL;
    END IF;
    IF NEW.status = 'verified' THEN
        NEW.verified_at := coalesce(NEW.verified_at, now());
    ELSE
        NEW.verified_at := NULL;
    END IF;

    IF TG_OP = 'UPDATE' THEN
        -- Every stored change gets a new version: this is what If-Match compares against.
        NEW.version := OLD.version + 1;
        NEW.updated_at := now();
        NEW.created_at := OLD.created_at;
        NEW.code := OLD.code;
    END IF;
    RETURN NEW;
END
$$;
