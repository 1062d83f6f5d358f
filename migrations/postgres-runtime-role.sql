-- The runtime role the API runs as, next to the owner role that runs the migrations.
--
-- The owner (e.g. registry_owner) owns every table and runs `registry db upgrade`. The
-- runtime role (e.g. registry_app) owns nothing: it cannot ALTER a table, disable a
-- trigger or TRUNCATE, and on the audit tables it may only SELECT and INSERT — no
-- UPDATE, no DELETE — so the append-only rule does not rest on the triggers alone.
--
-- Run as the owner after every `registry db upgrade` (new tables need their grants):
--   psql -v runtime=registry_app -f migrations/postgres-runtime-role.sql "$OWNER_URL"
-- or `registry db grant-runtime registry_app` (the same statements).
-- Create the runtime role once, as a superuser:
--   CREATE ROLE registry_app LOGIN PASSWORD '...' NOSUPERUSER NOCREATEDB NOCREATEROLE;

GRANT USAGE ON SCHEMA public TO :"runtime";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"runtime";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"runtime";
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON audit_events, audit_leaves, audit_tree_nodes, audit_checkpoints FROM :"runtime";
REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM :"runtime";
REVOKE CREATE ON SCHEMA public FROM :"runtime";
