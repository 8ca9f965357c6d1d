DROP TABLE component_changes;
DROP FUNCTION component_changes_append_only();
DROP TABLE components;
