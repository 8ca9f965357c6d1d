DROP TABLE ledger_entries;
DROP TABLE ledger_postings;
DROP TABLE ledger_accounts;
DROP FUNCTION ledger_entry_balanced();
DROP FUNCTION ledger_posting_balanced();
DROP FUNCTION ledger_check_balanced(BIGINT);
DROP FUNCTION ledger_append_only();
