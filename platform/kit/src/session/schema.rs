// The one table of sessions, the same on both sides (each side's migrations create it in
// its own database; each side's schema test reads this file with its own `schema.rs`).

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family -> Uuid,
        token_hash -> Text,
        token_version -> Int4,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}
