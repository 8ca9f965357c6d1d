//! The city reads only its own file: the district registry in it, the catalogues and
//! boundaries it names. Never a district's tenant file.

use std::path::PathBuf;

use citygrid_exchange::config::City;

/// A city folder holding only what the city's operator has: `city.toml` (edited by
/// `edit`), the catalogue, the boundaries and, beside it, the holiday files. No
/// `districts/` folder exists in it. Returns the folder to remove and the city file.
fn city_folder(edit: impl FnOnce(String) -> String) -> (PathBuf, PathBuf) {
    let tenants = citygrid_test_support::repo().join("tenants");
    let sample = tenants.join("hangzhou");
    let root = std::env::temp_dir().join(format!("citygrid-city-{}", uuid::Uuid::new_v4()));
    let dir = root.join("hangzhou");
    std::fs::create_dir_all(dir.join("boundaries")).expect("folder");
    std::fs::create_dir_all(root.join("calendars")).expect("folder");
    for year in ["cn-2025.toml", "cn-2026.toml"] {
        std::fs::copy(
            tenants.join("calendars").join(year),
            root.join("calendars").join(year),
        )
        .expect("copy");
    }
    for file in [
        "catalogue.toml",
        "catalogue-gbt47678.toml",
        "boundaries/330102.geojson",
        "boundaries/330105.geojson",
        "boundaries/330106.geojson",
    ] {
        std::fs::copy(sample.join(file), dir.join(file)).expect("copy");
    }
    let text = std::fs::read_to_string(sample.join("city.toml")).expect("city.toml");
    let path = dir.join("city.toml");
    std::fs::write(&path, edit(text)).expect("write");
    (root, path)
}

fn load(edit: impl FnOnce(String) -> String) -> Result<City, String> {
    let (dir, path) = city_folder(edit);
    let city = City::load(&path).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(dir);
    city
}

#[test]
fn the_city_runs_from_its_own_file_without_any_district_file() {
    let city = load(|t| t).expect("the city file alone is enough");
    let codes: Vec<&str> = city.registry.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["330102", "330105", "330106"]);
    let west = city.registry.get("330106").expect("西湖区");
    assert_eq!(west.name, "西湖区");
    assert_eq!(west.broker_user, "citygrid-330106");
    assert!(west.population > 0 && west.area_km2 > 0.0);
    assert_eq!(west.catalogue.standard, "GB/T 30428.2-2013");
    assert_eq!(
        city.registry
            .by_user("citygrid-330105")
            .map(|d| d.code.as_str()),
        Some("330105")
    );
    // Secrets stay out of any Debug output of the loaded configuration.
    let debug = format!("{city:?}");
    for secret in [
        "demo-only-amqp-city",
        "demo-only-amqp-330102",
        "demo-only-city-330100",
    ] {
        assert!(!debug.contains(secret), "{secret} in Debug output");
    }
}

/// Each (text of the sample, its replacement, what the error must name): the edited city
/// file is refused, naming it.
fn refused_naming(cases: &[(&str, &str, &str)]) {
    for &(from, to, key) in cases {
        let err = load(|t| {
            assert!(t.contains(from), "the sample city has {from:?}");
            t.replacen(from, to, 1)
        })
        .expect_err(key);
        assert!(err.contains(key), "{key}: {err}");
    }
}

#[test]
fn a_bad_registry_entry_is_refused_naming_its_key() {
    let cases: [(&str, &str, &str); 5] = [
        (
            "code = \"330105\"",
            "code = \"330102\"",
            "districts[1].code",
        ),
        (
            "broker_user = \"citygrid-330106\"",
            "broker_user = \"citygrid-330102\"",
            "districts[2].broker_user",
        ),
        (
            "catalogue = \"GB/T 30428.2-2013\"\npopulation = 1188800",
            "catalogue = \"GB/T 9999-2030\"\npopulation = 1188800",
            "districts[1].catalogue",
        ),
        (
            "boundary = \"boundaries/330106.geojson\"",
            "boundary = \"boundaries/nowhere.geojson\"",
            "districts[2].boundary",
        ),
        (
            "population = 1323500",
            "population = 0",
            "districts[0].population",
        ),
    ];
    refused_naming(&cases);
}

#[test]
fn the_monthly_job_is_checked_at_load() {
    let cases: [(&str, &str, &str); 2] = [
        (
            "cron = \"0 0 2 1 * *\"",
            "cron = \"at two on the first\"",
            "monthly.cron",
        ),
        (
            "grace_hours = 48",
            "grace_hours = 48\nfirst_month = \"2026-Q4\"",
            "monthly.first_month",
        ),
    ];
    refused_naming(&cases);
}

#[test]
fn an_unknown_city_role_is_refused_at_load() {
    let err = load(|t| t.replacen("roles = [\"city_leader\"]", "roles = [\"mayor\"]", 1))
        .expect_err("a role the city does not know");
    assert!(
        err.contains("mayor") && err.contains("city_leader"),
        "{err}"
    );
}

#[test]
fn the_escalation_calendar_is_checked_at_load() {
    let cases: [(&str, &str, &str); 3] = [
        (
            "working_hours = [\"08:30-12:00\", \"13:30-17:30\"]\nholidays",
            "working_hours = [\"8 to 12\"]\nholidays",
            "escalation.calendar.working_hours[0]",
        ),
        (
            "\"../calendars/cn-2026.toml\"]\nunpublished_year",
            "\"../calendars/cn-1999.toml\"]\nunpublished_year",
            "cn-1999.toml",
        ),
        (
            "[escalation.calendar]\nworking_hours = [\"08:30-12:00\", \"13:30-17:30\"]\nholidays = [\"../calendars/cn-2025.toml\", \"../calendars/cn-2026.toml\"]\nunpublished_year = \"weekdays\"\n",
            "",
            "escalation.rules[0].overdue_working_hours",
        ),
    ];
    refused_naming(&cases);
}
