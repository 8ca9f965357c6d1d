//! Diesel table definitions; mirrors `migrations/` (held to the migrated database, column
//! by column, by `tests/api/schema.rs`).

diesel::table! {
    departments (code) {
        code -> Text,
        name -> Text,
        kind -> Text,
        street_code -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        roles -> Array<Text>,
        department_code -> Nullable<Text>,
        created_at -> Timestamptz,
        token_version -> Int4,
    }
}

diesel::table! {
    media (sha256) {
        sha256 -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        uploaded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        announced_seq -> Nullable<Int8>,
    }
}

diesel::table! {
    cases (id) {
        id -> Uuid,
        number -> Int8,
        state -> Text,
        version -> Int4,
        source -> Text,
        urgency -> Text,
        category_kind -> Nullable<Text>,
        category_major -> Nullable<Text>,
        category_minor -> Nullable<Text>,
        description -> Text,
        address -> Nullable<Text>,
        lon -> Float8,
        lat -> Float8,
        street_code -> Nullable<Text>,
        department_code -> Nullable<Text>,
        reporter_id -> Nullable<Uuid>,
        reporter_name -> Nullable<Text>,
        reporter_phone -> Nullable<Text>,
        verified -> Nullable<Bool>,
        rework_count -> Int4,
        satisfaction -> Nullable<Text>,
        duplicate_of -> Nullable<Uuid>,
        idempotency_scope -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        manual_version -> Nullable<Text>,
        manual_limits -> Nullable<Jsonb>,
        manual_condition -> Nullable<Text>,
        stage -> Nullable<Text>,
        clock -> Nullable<Text>,
        stage_started_at -> Nullable<Timestamptz>,
        stage_limit_minutes -> Nullable<Int4>,
        stage_yellow_at -> Nullable<Timestamptz>,
        stage_deadline -> Nullable<Timestamptz>,
        pending_request -> Nullable<Text>,
        pending_minutes -> Nullable<Int4>,
        suspended_remaining_minutes -> Nullable<Int4>,
        extension_minutes -> Int4,
        supervision_pending -> Bool,
        supervision_level -> Nullable<Text>,
        next_reminder_at -> Nullable<Timestamptz>,
        cell_code -> Nullable<Text>,
        community_code -> Nullable<Text>,
        task_assignee -> Nullable<Uuid>,
        component_id -> Nullable<Text>,
        component_department -> Nullable<Text>,
    }
}

diesel::table! {
    case_assignments (id) {
        id -> Int8,
        case_id -> Uuid,
        task -> Text,
        assignee -> Nullable<Uuid>,
        patrol -> Nullable<Text>,
        assigned_by -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        case_id -> Uuid,
        kind -> Text,
        stage -> Nullable<Text>,
        stage_started_at -> Nullable<Timestamptz>,
        department_code -> Nullable<Text>,
        message -> Text,
        created_at -> Timestamptz,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    supervision_orders (id) {
        id -> Uuid,
        case_id -> Uuid,
        origin -> Text,
        level -> Text,
        text -> Text,
        due_at -> Timestamptz,
        issued_by -> Nullable<Uuid>,
        issued_at -> Timestamptz,
        acknowledged_by -> Nullable<Uuid>,
        acknowledged_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    case_history (case_id, version) {
        case_id -> Uuid,
        version -> Int4,
        updated_at -> Timestamptz,
        snapshot -> Jsonb,
    }
}

diesel::table! {
    case_records (id) {
        id -> Int8,
        case_id -> Uuid,
        case_version -> Int4,
        action -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor_id -> Nullable<Uuid>,
        actor_role -> Text,
        comment -> Nullable<Text>,
        media -> Array<Text>,
        details -> Jsonb,
        at -> Timestamptz,
    }
}

diesel::table! {
    outbox_counter (id) {
        id -> Bool,
        last_seq -> Int8,
    }
}

diesel::table! {
    outbox (seq) {
        seq -> Int8,
        kind -> Text,
        message -> Text,
        media_sha256 -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    exchange_rejections (id) {
        id -> Int8,
        received_at -> Timestamptz,
        message_id -> Nullable<Text>,
        kind -> Nullable<Text>,
        seq -> Nullable<Int8>,
        code -> Text,
        message -> Text,
        field -> Nullable<Text>,
        rejection_id -> Text,
    }
}

diesel::table! {
    digests (day) {
        day -> Date,
        cases -> Int8,
        sha256 -> Text,
        up_to_seq -> Int8,
        seq -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    components (id) {
        id -> Text,
        name -> Text,
        category_kind -> Text,
        category_major -> Text,
        category_minor -> Text,
        edition -> Text,
        department_code -> Text,
        owner_code -> Nullable<Text>,
        owner_name -> Nullable<Text>,
        maintainer_code -> Nullable<Text>,
        maintainer_name -> Nullable<Text>,
        cell_code -> Nullable<Text>,
        street_code -> Nullable<Text>,
        community_code -> Nullable<Text>,
        status -> Text,
        initial_date -> Nullable<Date>,
        changed_date -> Nullable<Date>,
        data_source -> Text,
        remarks -> Nullable<Text>,
        lon -> Nullable<Float8>,
        lat -> Nullable<Float8>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    component_changes (id) {
        id -> Int8,
        component_id -> Text,
        component_version -> Int4,
        via -> Text,
        actor_id -> Nullable<Uuid>,
        actor -> Text,
        changes -> Jsonb,
        reason -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    city_reports (month) {
        month -> Text,
        published_at -> Timestamptz,
        rank -> Nullable<Int4>,
        ranked -> Int4,
        composite -> Nullable<Int8>,
        grade -> Nullable<Text>,
        complete -> Bool,
        omitted -> Array<Text>,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    city_report_files (month, name) {
        month -> Text,
        name -> Text,
        content_type -> Text,
        bytes -> Bytea,
        sha256 -> Text,
    }
}

diesel::joinable!(city_report_files -> city_reports (month));
diesel::joinable!(users -> departments (department_code));
diesel::joinable!(components -> departments (department_code));
diesel::joinable!(component_changes -> components (component_id));
diesel::joinable!(cases -> departments (department_code));
diesel::joinable!(case_history -> cases (case_id));
diesel::joinable!(case_records -> cases (case_id));
diesel::joinable!(case_assignments -> cases (case_id));
diesel::joinable!(supervision_orders -> cases (case_id));
diesel::joinable!(notifications -> cases (case_id));
diesel::joinable!(outbox -> media (media_sha256));

diesel::allow_tables_to_appear_in_same_query!(
    departments,
    users,
    media,
    cases,
    case_assignments,
    case_history,
    case_records,
    supervision_orders,
    notifications,
    outbox,
    outbox_counter,
    exchange_rejections,
    digests,
    components,
    component_changes,
    city_reports,
    city_report_files
);
