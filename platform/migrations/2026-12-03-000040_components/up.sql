-- The component inventory (部件库): every physical component of the district with its
-- standard id (16 digits GB/T 30428.2, 17 digits GB/T 47678.5) and the standard attributes
-- (GB/T 47678.5 table 2), loaded from a census (专项普查) and kept up by the departments
-- that own them (crate::component). `version` guards concurrent edits; every change is a
-- `component_changes` row, append-only like `case_records`.
CREATE TABLE components (
    id TEXT PRIMARY KEY CONSTRAINT components_id_digits CHECK (id ~ '^[0-9]{16,17}$'),
    name TEXT NOT NULL,
    category_kind TEXT NOT NULL CONSTRAINT components_category_kind_known CHECK (category_kind IN ('component')),
    category_major TEXT NOT NULL,
    category_minor TEXT NOT NULL,
    edition TEXT NOT NULL CONSTRAINT components_edition_known CHECK (edition IN ('GB/T 30428.2-2013', 'GB/T 47678.5-2026')),
    -- 主管部门: the district department answering for it.
    department_code TEXT NOT NULL REFERENCES departments (code),
    -- 权属单位 and 养护单位: codes as the census gives them (a unified social credit code or
    -- a district department code), names as written.
    owner_code TEXT,
    owner_name TEXT,
    maintainer_code TEXT,
    maintainer_name TEXT,
    cell_code TEXT,
    street_code TEXT,
    community_code TEXT,
    status TEXT NOT NULL CONSTRAINT components_status_known CHECK (status IN ('intact', 'damaged', 'missing', 'abandoned', 'removed')),
    initial_date DATE,
    changed_date DATE,
    data_source TEXT NOT NULL CONSTRAINT components_data_source_known CHECK (data_source IN ('surveyed', 'topographic', 'base_geodata', 'other')),
    remarks TEXT,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT components_point_whole CHECK ((lon IS NULL) = (lat IS NULL))
);
CREATE INDEX components_cell ON components (cell_code);
CREATE INDEX components_department ON components (department_code);
CREATE INDEX components_category ON components (category_major, category_minor);

-- 部件变更记录: who changed what of a component, from what to what, and why.
CREATE TABLE component_changes (
    id BIGSERIAL PRIMARY KEY,
    component_id TEXT NOT NULL REFERENCES components (id),
    -- The component version this change produced (1: created).
    component_version INTEGER NOT NULL,
    via TEXT NOT NULL CONSTRAINT component_changes_via_known CHECK (via IN ('import', 'api')),
    -- The user (API), NULL for an import.
    actor_id UUID REFERENCES users (id),
    -- The username (API) or the census file (import).
    actor TEXT NOT NULL,
    -- {"field": {"from": …, "to": …}, …}
    changes JSONB NOT NULL,
    reason TEXT,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX component_changes_component ON component_changes (component_id, id);

CREATE FUNCTION component_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'component_changes is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER component_changes_no_update_delete
    BEFORE UPDATE OR DELETE ON component_changes
    FOR EACH ROW EXECUTE FUNCTION component_changes_append_only();
CREATE TRIGGER component_changes_no_truncate
    BEFORE TRUNCATE ON component_changes
    FOR EACH STATEMENT EXECUTE FUNCTION component_changes_append_only();
