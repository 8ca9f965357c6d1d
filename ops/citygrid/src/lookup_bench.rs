//! `citygrid bench lookup`: the unit grid's point → cell lookup (`Grid::locate`: an R-tree of
//! the cells' boxes, then the exact polygon test) next to the same question asked of
//! PostGIS in the same run: the same cells in a table with a GiST index, one prepared
//! `ST_Intersects` query per point over one connection.
//!
//! The database (CITYGRID_DATABASE_URL) is a scratch database prepared by `ops/bench lookup`:
//! empty, on a server with PostGIS installed (`ops/up`). This creates the extension and the
//! `cells` table in it.
//!
//! Both sides answer the same way on a point shared by several cells (an edge, a corner):
//! the lowest code. Ours counts a point on a cell's boundary as in the cell (`Intersects`);
//! so does `ST_Intersects` — `ST_Contains` would not, and a point on an edge would then be
//! in no cell at all. Every answer is compared; the run fails on any mismatch.
//!
//! For context, not in the ratio: each round also times PostGIS answering every point in
//! one statement inside the server, its cost without a round trip per point.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::stats::median;
use citygrid_kit::seeded::SplitMix64;
use citygrid_platform::config::Tenant;
use citygrid_platform::grid::{self, Cell, Frame, Grid};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer, Text};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;

#[derive(clap::Args)]
pub struct LookupArgs {
    #[arg(long, default_value = "tenants/hangzhou/districts/330102.toml")]
    tenant: PathBuf,
    /// Side of a synthetic cell, metres: 81 gives 9,704 cells over 330102 (80 would put more
    /// than 999 cells in one community, the most a cell code can number).
    #[arg(long, default_value_t = 81.0)]
    cell_metres: f64,
    /// Points looked up per round, the same every round.
    #[arg(long, default_value_t = 50_000)]
    points: usize,
    /// Rounds, alternating ours and PostGIS; medians are compared.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seed of the points.
    #[arg(long, default_value_t = 12)]
    seed: u64,
    /// Our side repeats its pass over the points until this many seconds have gone by.
    #[arg(long, default_value_t = 1.0)]
    our_seconds: f64,
}

/// Every this many points, one is put on a corner of a cell (shared by up to four cells, or
/// on the district's edge): the lowest-code rule is tested, not only the interiors.
const CORNER_EVERY: usize = 20;

#[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(name = "geometry"))]
pub struct Geometry;

diesel::table! {
    use diesel::sql_types::Text;
    use super::Geometry;

    cells (code) {
        code -> Text,
        geom -> Geometry,
    }
}

diesel::define_sql_function!(fn st_intersects(a: Geometry, b: Geometry) -> diesel::sql_types::Bool);
diesel::define_sql_function!(fn st_makepoint(x: Double, y: Double) -> Geometry);
diesel::define_sql_function!(fn st_setsrid(g: Geometry, srid: Integer) -> Geometry);

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The seeded stream, and an index in `0..n` scaled from [0, 1) (as the recorded runs drew).
fn index(rng: &mut SplitMix64, n: usize) -> usize {
    (rng.unit() * n as f64) as usize
}

/// The points: uniform over the district's bounding box (some fall outside every cell), and
/// every [`CORNER_EVERY`]th exactly on a cell's vertex.
fn points(frame: &Frame, cells: &[Cell], n: usize, seed: u64) -> Result<Vec<(f64, f64)>, String> {
    let (mut min, mut max) = ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN));
    for polygon in frame.boundary.iter() {
        for c in polygon.exterior().coords() {
            min = (min.0.min(c.x), min.1.min(c.y));
            max = (max.0.max(c.x), max.1.max(c.y));
        }
    }
    if cells.is_empty() || min.0 > max.0 {
        return Err("the district has no boundary or no cells".into());
    }
    let mut rng = SplitMix64::new(seed);
    Ok((0..n)
        .map(|i| {
            if i % CORNER_EVERY == CORNER_EVERY - 1 {
                let ring: Vec<_> = cells[index(&mut rng, cells.len())]
                    .polygon
                    .exterior()
                    .coords()
                    .copied()
                    .collect();
                let c = ring[index(&mut rng, ring.len())];
                (c.x, c.y)
            } else {
                (
                    min.0 + rng.unit() * (max.0 - min.0),
                    min.1 + rng.unit() * (max.1 - min.1),
                )
            }
        })
        .collect())
}

/// A cell as WKT. Rust prints the shortest decimal that reads back as the same double, so
/// PostGIS gets exactly the coordinates the grid has.
fn wkt(cell: &Cell) -> String {
    fn ring(coords: impl Iterator<Item = (f64, f64)>) -> String {
        let xy: Vec<String> = coords.map(|(x, y)| format!("{x} {y}")).collect();
        format!("({})", xy.join(","))
    }
    let rings: Vec<String> = std::iter::once(cell.polygon.exterior())
        .chain(cell.polygon.interiors())
        .map(|r| ring(r.coords().map(|c| (c.x, c.y))))
        .collect();
    format!("POLYGON({})", rings.join(","))
}

fn load(conn: &mut PgConnection, cells: &[Cell]) -> Result<Duration, String> {
    let started = Instant::now();
    let sql = |conn: &mut PgConnection, q: &str| {
        diesel::sql_query(q)
            .execute(conn)
            .map_err(|e| format!("{q}: {e}"))
    };
    sql(conn, "CREATE EXTENSION IF NOT EXISTS postgis")?;
    sql(conn, "DROP TABLE IF EXISTS cells")?;
    sql(
        conn,
        "CREATE TABLE cells (code text PRIMARY KEY, geom geometry(Polygon, 4326) NOT NULL)",
    )?;
    let codes: Vec<String> = cells.iter().map(|c| c.code.to_string()).collect();
    let shapes: Vec<String> = cells.iter().map(wkt).collect();
    diesel::sql_query(
        "INSERT INTO cells (code, geom) \
         SELECT code, ST_GeomFromText(shape, 4326) FROM unnest($1::text[], $2::text[]) AS t(code, shape)",
    )
    .bind::<Array<Text>, _>(&codes)
    .bind::<Array<Text>, _>(&shapes)
    .execute(conn)
    .map_err(|e| format!("loading the cells: {e}"))?;
    sql(conn, "CREATE INDEX cells_geom ON cells USING gist (geom)")?;
    sql(conn, "ANALYZE cells")?;
    let loaded = diesel::sql_query("SELECT count(*) AS n FROM cells WHERE ST_IsValid(geom)")
        .get_result::<Count>(conn)
        .map_err(|e| e.to_string())?
        .n;
    if loaded != cells.len() as i64 {
        return Err(format!(
            "PostGIS holds {loaded} valid cells of {}",
            cells.len()
        ));
    }
    Ok(started.elapsed())
}

/// One PostGIS lookup: a statement diesel prepares once on the connection and then executes.
fn postgis(conn: &mut PgConnection, lon: f64, lat: f64) -> QueryResult<Option<String>> {
    cells::table
        .select(cells::code)
        .filter(st_intersects(
            cells::geom,
            st_setsrid(st_makepoint(lon, lat), 4326),
        ))
        .order(cells::code)
        .limit(1)
        .get_result(conn)
        .optional()
}

/// The points as a table, for the in-server figure.
fn load_points(conn: &mut PgConnection, points: &[(f64, f64)]) -> Result<(), String> {
    let (lons, lats): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    diesel::sql_query("DROP TABLE IF EXISTS points")
        .execute(conn)
        .map_err(|e| e.to_string())?;
    diesel::sql_query(
        "CREATE TABLE points AS SELECT * FROM unnest($1::float8[], $2::float8[]) AS t(lon, lat)",
    )
    .bind::<Array<Double>, _>(&lons)
    .bind::<Array<Double>, _>(&lats)
    .execute(conn)
    .map_err(|e| format!("loading the points: {e}"))?;
    Ok(())
}

/// Every point looked up inside the server in one statement, no round trip per point: what
/// PostGIS costs without the client protocol. Returns lookups/s and how many found a cell.
fn in_server(conn: &mut PgConnection, points: usize) -> Result<(f64, i64), String> {
    let started = Instant::now();
    let found = diesel::sql_query(
        "SELECT count(c.code) AS n FROM points p CROSS JOIN LATERAL (SELECT code FROM cells \
         WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) ORDER BY code LIMIT 1) c",
    )
    .get_result::<Count>(conn)
    .map_err(|e| e.to_string())?
    .n;
    Ok((points as f64 / started.elapsed().as_secs_f64(), found))
}

/// The statement the lookups ran as, and its plan (the server's, for the prepared statement).
fn statement_and_plan(conn: &mut PgConnection) -> Result<(String, String), String> {
    #[derive(QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        statement: String,
    }
    let prepared: Vec<Prepared> = diesel::sql_query(
        "SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE '%st_intersects%'",
    )
    .load(conn)
    .map_err(|e| e.to_string())?;
    let [one] = prepared.as_slice() else {
        return Err(format!(
            "expected one prepared lookup statement, found {}",
            prepared.len()
        ));
    };
    let plan: Vec<PlanLine> = diesel::sql_query(format!(
        "EXPLAIN (COSTS OFF) EXECUTE \"{}\"(120.17, 30.25, 4326, 1)",
        one.name
    ))
    .load(conn)
    .map_err(|e| e.to_string())?;
    let plan: Vec<&str> = plan.iter().map(|l| l.line.trim()).collect();
    Ok((one.statement.clone(), plan.join(" | ")))
}

pub fn run(args: LookupArgs) -> Result<(), String> {
    let tenant = Tenant::load(&args.tenant).map_err(|e| e.to_string())?;
    let frame = Frame::of(&tenant);
    let started = Instant::now();
    let cells = grid::synthetic(&frame, args.cell_metres)?;
    let grid = Grid::new(cells.clone());
    let built = started.elapsed();
    let points = points(&frame, grid.cells(), args.points, args.seed)?;
    let expected: Vec<Option<String>> = points
        .iter()
        .map(|&(lon, lat)| grid.locate(lon, lat).map(|c| c.code.to_string()))
        .collect();
    let hits = expected.iter().filter(|c| c.is_some()).count();
    println!(
        "grid: district {} ({}), {} cells of {} m (synthetic, built and indexed in {:.0} ms)",
        frame.district,
        tenant.config.district.name,
        grid.len(),
        args.cell_metres,
        built.as_secs_f64() * 1000.0
    );
    println!(
        "points: {} (seed {}), uniform over the district's bounding box, every {CORNER_EVERY}th on a cell corner; {} in a cell, {} in none",
        points.len(),
        args.seed,
        hits,
        points.len() - hits
    );

    let url = tenant.config.database.url.expose_secret().to_owned();
    let mut conn = PgConnection::establish(&url)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let loaded = load(&mut conn, grid.cells())?;
    let version = diesel::sql_query("SELECT postgis_lib_version() AS line")
        .get_result::<Line>(&mut conn)
        .map_err(|e| e.to_string())?
        .line;
    println!(
        "postgis {version}: table cells (code text, geom geometry(Polygon, 4326)), GiST index, analyzed; loaded as WKT in {:.0} ms",
        loaded.as_secs_f64() * 1000.0
    );

    let progress = ProgressBar::new((args.rounds * points.len()) as u64);
    progress.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} PostGIS lookups, {eta} left")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    load_points(&mut conn, &points)?;
    let (mut ours, mut theirs, mut mismatches) = (Vec::new(), Vec::new(), 0usize);
    let mut inside = Vec::new();
    let mut shown = 0;
    let mut plan = None;
    for round in 1..=args.rounds.max(1) {
        progress.set_message(format!("round {round}"));
        // Ours: one thread, passes over the same points until our_seconds have gone by.
        let (mut lookups, mut found) = (0usize, 0usize);
        let started = Instant::now();
        while started.elapsed().as_secs_f64() < args.our_seconds {
            for &(lon, lat) in &points {
                found +=
                    usize::from(black_box(grid.locate(black_box(lon), black_box(lat))).is_some());
            }
            lookups += points.len();
        }
        let our_rate = lookups as f64 / started.elapsed().as_secs_f64();
        black_box(found);

        // PostGIS: one prepared query per point, one connection.
        let mut answers = Vec::with_capacity(points.len());
        let started = Instant::now();
        for (i, &(lon, lat)) in points.iter().enumerate() {
            answers.push(postgis(&mut conn, lon, lat).map_err(|e| e.to_string())?);
            if i % 1024 == 1023 {
                progress.inc(1024);
            }
        }
        let their_rate = points.len() as f64 / started.elapsed().as_secs_f64();
        progress.set_position((round * points.len()) as u64);
        if plan.is_none() {
            plan = Some(statement_and_plan(&mut conn)?);
        }
        let wrong: Vec<usize> = (0..points.len())
            .filter(|&i| answers[i] != expected[i])
            .collect();
        for &i in wrong.iter().take(5usize.saturating_sub(shown)) {
            progress.suspend(|| {
                eprintln!(
                    "mismatch at ({}, {}): ours {:?}, PostGIS {:?}",
                    points[i].0, points[i].1, expected[i], answers[i]
                )
            });
            shown += 1;
        }
        mismatches += wrong.len();
        progress.suspend(|| {
            println!(
                "round {round}: citygrid Grid::locate {our_rate:.0} lookups/s ({lookups} on one thread), PostGIS {their_rate:.0} lookups/s ({} over one connection), mismatches {}",
                points.len(),
                wrong.len()
            )
        });
        let (inside_rate, found) = in_server(&mut conn, points.len())?;
        if found != hits as i64 {
            return Err(format!(
                "PostGIS in one statement found a cell for {found} points, Grid::locate for {hits}"
            ));
        }
        progress.suspend(|| {
            println!(
                "round {round}: (PostGIS inside the server, all points in one statement: {inside_rate:.0} lookups/s)"
            )
        });
        ours.push(our_rate);
        theirs.push(their_rate);
        inside.push(inside_rate);
    }
    progress.finish_and_clear();
    if let Some((statement, plan)) = plan {
        println!("PostGIS statement (prepared once): {statement}");
        println!("its plan: {plan}");
    }
    diesel::sql_query("DROP TABLE cells, points")
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "median of {} alternating rounds: citygrid {ours:.0} lookups/s, PostGIS {theirs:.0} lookups/s; mismatches {mismatches} of {} answers compared",
        args.rounds.max(1),
        args.rounds.max(1) * points.len()
    );
    let inside = median(inside);
    println!(
        "(PostGIS inside the server, no round trip per point: median {inside:.0} lookups/s, ours {:.1} times that)",
        ours / inside
    );
    println!("ratio lookup: {:.1}", ours / theirs);
    if mismatches > 0 {
        return Err(format!(
            "{mismatches} answers differ between Grid::locate and PostGIS"
        ));
    }
    Ok(())
}
