-- The ledger: townships, task families and tasks, with the rules that no code path may bypass
-- (types, ranges, geometry validity, township assignment, version bumps) kept in the database.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE townships (
    -- 9-digit statistics code (县 6 digits + 3), optionally the 12-digit long form.
    code     text PRIMARY KEY CHECK (code ~ '^[0-9]{9}([0-9]{3})?$'),
    name     text NOT NULL CHECK (btrim(name) <> ''),
    kind     text NOT NULL CHECK (kind IN ('town', 'subdistrict', 'development_zone')),
    boundary geometry(MultiPolygon, 4326) NOT NULL
             CHECK (NOT ST_IsEmpty(boundary) AND ST_IsValid(boundary))
);
CREATE INDEX townships_boundary_gist ON townships USING gist (boundary);

-- Task families are rows, not an enum, so a bureau can add one without a release.
CREATE TABLE categories (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    -- Prefix of the human task code, e.g. WS in WS-2026-0042.
    prefix     text NOT NULL UNIQUE CHECK (prefix ~ '^[A-Z]{2,4}$'),
    name_zh    text NOT NULL CHECK (btrim(name_zh) <> ''),
    name_en    text NOT NULL CHECK (btrim(name_en) <> ''),
    color      text NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
    sort_order integer NOT NULL DEFAULT 0
);
INSERT INTO categories (code, prefix, name_zh, name_en, color, sort_order) VALUES
    ('watershed', 'WS', '重点流域水环境整治', 'Watershed clean-up',          '#1f78b4', 1),
    ('chemical',  'CH', '化工专项整治',       'Chemical-sector remediation', '#e31a1c', 2),
    ('energy',    'EN', '节能减排',           'Energy saving and emissions', '#ff7f00', 3),
    ('village',   'VI', '村庄环境整治',       'Village environment',         '#33a02c', 4);

-- Last sequence number handed out per family and year; the row lock taken by the upsert
-- serialises concurrent inserts of one family, so codes never repeat or skip under load.
CREATE TABLE task_code_counters (
    category text    NOT NULL REFERENCES categories (code),
    year     integer NOT NULL,
    last     integer NOT NULL,
    PRIMARY KEY (category, year)
);

CREATE TABLE tasks (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code                text NOT NULL UNIQUE CHECK (code ~ '^[A-Z]{2,4}-[0-9]{4}-[0-9]{4,}$'),
    title               text NOT NULL CHECK (char_length(btrim(title)) BETWEEN 1 AND 200),
    description         text NOT NULL DEFAULT '' CHECK (char_length(description) <= 10000),
    category            text NOT NULL REFERENCES categories (code),
    geom                geometry(Geometry, 4326) NOT NULL
                        CHECK (GeometryType(geom) IN ('POINT', 'LINESTRING', 'POLYGON',
                                                      'MULTIPOINT', 'MULTILINESTRING', 'MULTIPOLYGON')
                               AND NOT ST_IsEmpty(geom) AND ST_IsValid(geom)
                               AND ST_NPoints(geom) <= 10000),
    township_code       text NOT NULL REFERENCES townships (code),
    -- true when the bureau chose the township; the automatic assignment then leaves it alone.
    township_overridden boolean NOT NULL DEFAULT false,
    status              text NOT NULL DEFAULT 'planned'
                        CHECK (status IN ('planned', 'in_progress', 'completed', 'verified', 'cancelled')),
    progress            smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    lead_unit           text NOT NULL DEFAULT '' CHECK (char_length(lead_unit) <= 200),
    contact_person      text CHECK (char_length(contact_person) BETWEEN 1 AND 100),
    contact_phone       text CHECK (contact_phone ~ '^[0-9+() -]{5,20}$'),
    due_date            date,
    -- Investment in 万元 (10,000 yuan), as the ledger counts it.
    planned_investment  numeric(14, 2) CHECK (planned_investment BETWEEN 0 AND 100000000),
    actual_investment   numeric(14, 2) CHECK (actual_investment BETWEEN 0 AND 100000000),
    target_quantity     numeric CHECK (target_quantity >= 0),
    target_unit         text CHECK (char_length(btrim(target_unit)) BETWEEN 1 AND 20),
    visibility          text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'internal')),
    supervised          boolean NOT NULL DEFAULT false,
    completed_at        timestamptz,
    verified_at         timestamptz,
    version             integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_target_complete CHECK ((target_quantity IS NULL) = (target_unit IS NULL)),
    CONSTRAINT tasks_finished_means_full_progress
        CHECK (status NOT IN ('completed', 'verified') OR progress = 100),
    CONSTRAINT tasks_completion_time CHECK ((completed_at IS NOT NULL) = (status IN ('completed', 'verified')))
);
CREATE INDEX tasks_geom_gist ON tasks USING gist (geom);
CREATE INDEX tasks_township ON tasks (township_code);
CREATE INDEX tasks_category ON tasks (category);
CREATE INDEX tasks_status ON tasks (status);
CREATE INDEX tasks_due_date ON tasks (due_date);

-- The township holding the largest share of a geometry: by point count for points, by length for
-- lines, by area for polygons (geography, so shares are in metres, not skewed degrees). Ties go to
-- the lowest code, so the answer is deterministic for a point on a shared border.
CREATE FUNCTION township_for(g geometry) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT t.code
    FROM townships t
    WHERE ST_Intersects(t.boundary, g)
    ORDER BY CASE
                 WHEN GeometryType(g) = 'POINT' THEN 1
                 WHEN ST_Dimension(g) = 0 THEN ST_NPoints(ST_Intersection(t.boundary, g))
                 WHEN ST_Dimension(g) = 1 THEN ST_Length(ST_Intersection(t.boundary, g)::geography)
                 ELSE ST_Area(ST_Intersection(t.boundary, g)::geography)
             END DESC,
             t.code
    LIMIT 1
$$;

CREATE FUNCTION tasks_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    seq integer;
    yr integer;
BEGIN
    IF TG_OP = 'INSERT' AND NEW.code IS NULL THEN
        yr := extract(year FROM current_date);
        INSERT INTO task_code_counters AS c (category, year, last) VALUES (NEW.category, yr, 1)
        ON CONFLICT (category, year) DO UPDATE SET last = c.last + 1
        RETURNING last INTO seq;
        SELECT prefix || '-' || yr || '-' || lpad(seq::text, 4, '0') INTO NEW.code
        FROM categories WHERE code = NEW.category;
    END IF;

    -- Assignment costs an intersection with every touching township: redo it only when it can change.
    IF NOT NEW.township_overridden AND (TG_OP = 'INSERT' OR OLD.township_overridden
                                        OR NEW.geom IS DISTINCT FROM OLD.geom) THEN
        NEW.township_code := township_for(NEW.geom);
        IF NEW.township_code IS NULL THEN
            IF township_for(ST_FlipCoordinates(NEW.geom)) IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'GL002',
                    MESSAGE = 'the geometry lies outside the county, but would lie inside it with '
                              'longitude and latitude swapped: GeoJSON positions are [longitude, latitude]';
            END IF;
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

CREATE TRIGGER tasks_before_write BEFORE INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_before_write();
