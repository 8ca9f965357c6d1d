//! Diesel table definitions of the warehouse; mirrors `migrations/` (held to the migrated
//! database by `tests/city/schema.rs`).

diesel::table! {
    districts (code) {
        code -> Text,
        name -> Text,
        broker_user -> Text,
        cursor -> Int8,
        last_received_at -> Nullable<Timestamptz>,
        last_sync_request_at -> Nullable<Timestamptz>,
        command_seq -> Int8,
    }
}

diesel::table! {
    stream (district, seq) {
        district -> Text,
        seq -> Int8,
        kind -> Text,
        message_id -> Nullable<Text>,
        envelope -> Jsonb,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    cases (district, case_id) {
        district -> Text,
        case_id -> Uuid,
        version -> Int4,
        state -> Text,
        source -> Text,
        urgency -> Text,
        category_kind -> Nullable<Text>,
        category_major -> Nullable<Text>,
        category_minor -> Nullable<Text>,
        street_code -> Nullable<Text>,
        department_code -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        snapshot -> Jsonb,
        category_edition -> Nullable<Text>,
        category_compared -> Nullable<Text>,
        community_code -> Nullable<Text>,
        cell_code -> Nullable<Text>,
    }
}

diesel::table! {
    category_map (edition, kind, code) {
        edition -> Text,
        kind -> Text,
        code -> Text,
        name -> Text,
        compared -> Nullable<Text>,
    }
}

diesel::table! {
    records (district, seq) {
        district -> Text,
        seq -> Int8,
        record_id -> Int8,
        case_id -> Uuid,
        action -> Text,
        at -> Timestamptz,
        record -> Jsonb,
    }
}

diesel::table! {
    media_chunks (sha256, index) {
        sha256 -> Text,
        index -> Int4,
        data -> Bytea,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    media (sha256) {
        sha256 -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        bytes -> Nullable<Bytea>,
        first_district -> Text,
        verified_at -> Nullable<Timestamptz>,
        manifest_seq -> Nullable<Int8>,
        requests -> Int4,
        given_up_at -> Nullable<Timestamptz>,
        announced_at -> Timestamptz,
        requested_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    rejections (id) {
        id -> Int8,
        district -> Nullable<Text>,
        message_id -> Nullable<Text>,
        kind -> Nullable<Text>,
        seq -> Nullable<Int8>,
        code -> Text,
        message -> Text,
        field -> Nullable<Text>,
        at -> Timestamptz,
        dead_lettered -> Bool,
    }
}

diesel::table! {
    commands (district, seq) {
        district -> Text,
        seq -> Int8,
        kind -> Text,
        message -> Text,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    city_users (id) {
        id -> Uuid,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        roles -> Array<Text>,
        created_at -> Timestamptz,
        token_version -> Int4,
        district -> Nullable<Text>,
    }
}

diesel::table! {
    digests (district, seq) {
        district -> Text,
        seq -> Int8,
        day -> Date,
        up_to_seq -> Int8,
        cases -> Int8,
        sha256 -> Text,
        received_at -> Timestamptz,
        compared_at -> Nullable<Timestamptz>,
        city_cases -> Nullable<Int8>,
        city_sha256 -> Nullable<Text>,
        matches -> Nullable<Bool>,
    }
}

diesel::table! {
    ledger_accounts (code) {
        code -> Text,
        district -> Nullable<Text>,
        opened_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_postings (id) {
        id -> Int8,
        key -> Text,
        period -> Nullable<Text>,
        memo -> Text,
        cause -> Jsonb,
        reverses -> Nullable<Int8>,
        booked_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_entries (posting_id, line) {
        posting_id -> Int8,
        line -> Int2,
        account -> Text,
        amount_fen -> Int8,
    }
}

diesel::table! {
    supervision_orders (order_id) {
        order_id -> Uuid,
        district -> Text,
        case_id -> Uuid,
        rule -> Text,
        level -> Text,
        text -> Text,
        issued_by -> Text,
        issued_at -> Timestamptz,
        acknowledge_by -> Timestamptz,
        due_at -> Timestamptz,
        command_seq -> Int8,
        acknowledged_at -> Nullable<Timestamptz>,
        acknowledged_department -> Nullable<Text>,
        resolved_at -> Nullable<Timestamptz>,
        overdue_at -> Nullable<Timestamptz>,
        escalated_to -> Nullable<Uuid>,
    }
}

diesel::table! {
    city_problems (case_id) {
        case_id -> Uuid,
        district -> Text,
        category -> Text,
        edition -> Text,
        urgency -> Text,
        description -> Text,
        address -> Nullable<Text>,
        lon -> Float8,
        lat -> Float8,
        photos -> Array<Text>,
        reported_by -> Text,
        reporter -> Uuid,
        reported_at -> Timestamptz,
        command_seq -> Int8,
        idempotency_key -> Nullable<Text>,
        request_hash -> Text,
        referred_district -> Nullable<Text>,
        referred_case -> Nullable<Uuid>,
    }
}

diesel::table! {
    monthly_runs (month) {
        month -> Text,
        ran_at -> Timestamptz,
        incomplete -> Array<Text>,
        postings -> Int4,
    }
}

diesel::table! {
    monthly_reports (month, scope, name) {
        month -> Text,
        scope -> Text,
        name -> Text,
        content_type -> Text,
        bytes -> Bytea,
        sha256 -> Text,
    }
}

diesel::table! {
    referrals (district, record_id) {
        district -> Text,
        record_id -> Int8,
        case_id -> Uuid,
        reason -> Text,
        referred_by -> Nullable<Text>,
        referred_at -> Timestamptz,
        outcome -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        decider -> Nullable<Uuid>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamptz>,
        reassigned_case -> Nullable<Uuid>,
        command_seq -> Nullable<Int8>,
    }
}

diesel::table! {
    city_photos (sha256) {
        sha256 -> Text,
        content_type -> Text,
        bytes -> Bytea,
        uploaded_by -> Uuid,
        uploaded_at -> Timestamptz,
    }
}

diesel::joinable!(digests -> districts (district));
diesel::joinable!(ledger_entries -> ledger_postings (posting_id));
diesel::joinable!(ledger_entries -> ledger_accounts (account));

diesel::allow_tables_to_appear_in_same_query!(
    districts,
    stream,
    cases,
    records,
    media_chunks,
    media,
    rejections,
    commands,
    city_users,
    digests,
    category_map,
    ledger_accounts,
    ledger_postings,
    ledger_entries,
    supervision_orders,
    city_problems,
    city_photos,
    referrals,
    monthly_runs,
    monthly_reports
);
