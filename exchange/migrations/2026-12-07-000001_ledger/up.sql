-- The bonus/penalty ledger (奖惩台账, docs/LEDGER.md): double-entry and append-only.
-- A posting is a transaction whose entries sum to zero, under a unique idempotency key;
-- it is corrected only by a reversal that cites it. The database itself refuses an
-- unbalanced posting (checked at commit) and any UPDATE, DELETE or TRUNCATE.

CREATE TABLE ledger_accounts (
    code TEXT PRIMARY KEY CHECK (code ~ '^(city:(pool|funds)|district:[0-9]{6}:(deposit|bonus|penalty|funds)|leader:[0-9]{6}:[a-z0-9-]{1,32}:(deposit|funds))$'),
    -- The district whose statement shows it; none for the city's own accounts.
    district TEXT REFERENCES districts(code),
    opened_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE ledger_postings (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    -- The month or year it concerns (2026-10, 2026).
    period TEXT,
    memo TEXT NOT NULL,
    -- What caused it: the appraisal, order or case; for a reversal, the original.
    cause JSONB NOT NULL,
    -- A posting is reversed at most once.
    reverses BIGINT UNIQUE REFERENCES ledger_postings(id),
    booked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE ledger_entries (
    posting_id BIGINT NOT NULL REFERENCES ledger_postings(id),
    line SMALLINT NOT NULL,
    account TEXT NOT NULL REFERENCES ledger_accounts(code),
    amount_fen BIGINT NOT NULL CHECK (amount_fen <> 0),
    PRIMARY KEY (posting_id, line)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account, posting_id);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused (correct by a reversal)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER ledger_accounts_append_only BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- At commit, every posting that gained a row has two or more entries summing to zero:
-- checked for each new posting (none may be empty) and for each new entry (none may be
-- added to a posting later, in another transaction, without being caught).
CREATE FUNCTION ledger_check_balanced(posting BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
    total NUMERIC;
BEGIN
    SELECT count(*), COALESCE(sum(amount_fen), 0) INTO n, total
      FROM ledger_entries WHERE posting_id = posting;
    IF n < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'posting % does not balance: % entries summing to % fen',
            posting, n, total USING ERRCODE = 'check_violation';
    END IF;
END
$$;

CREATE FUNCTION ledger_posting_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_balanced(NEW.id);
    RETURN NULL;
END
$$;

CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_balanced(NEW.posting_id);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced();
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

-- The revisions of one idempotency key (`key`, `key#2`, …) are found together.
CREATE INDEX ledger_postings_base_key ON ledger_postings (split_part(key, '#', 1));
