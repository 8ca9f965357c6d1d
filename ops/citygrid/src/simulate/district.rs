//! One district on the simulated clock: its people report problems and take the loop's
//! steps through the district's own domain functions (`create_report`, `apply_step`), on
//! its own database, at simulated times. What they write reaches the outbox exactly as a
//! request's would, and the running instance's relay sends it to the city.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use citygrid_platform::auth::Claims;
use citygrid_platform::case::model::Case;
use citygrid_platform::case::steps::{self, RejectReason, Step, StepRequest, Urgency};
use citygrid_platform::case::store::{self, NewReport};
use citygrid_platform::case::workflow::{OPEN, Pending, Role, Source, State};
use citygrid_platform::catalogue::CategoryRef;
use citygrid_platform::config::Tenant;
use citygrid_platform::db::DbPool;
use citygrid_platform::manual::parse_category;
use citygrid_platform::media::{self, MediaStore};
use citygrid_platform::schema::cases;
use citygrid_platform::vocab::ActorRole;
use diesel::prelude::*;
use rand::{Rng, RngExt};
use uuid::Uuid;

use super::script::{self, Reporter};

/// The district's people the simulator acts as: its seed users, by role.
struct Cast {
    supervisors: Vec<Claims>,
    operator: Claims,
    dispatcher: Claims,
    /// By department code.
    handlers: BTreeMap<String, Claims>,
}

/// What happened in a district, for the summary.
#[derive(Debug, Default)]
pub struct Tally {
    pub reported: usize,
    pub steps: usize,
    pub closed: usize,
    pub reworked: usize,
    pub extensions: usize,
    pub acknowledged: usize,
    /// Steps the district refused, by message: a simulated person's mistake or a race
    /// with the relay; each case is tried again at the next tick.
    pub refused: BTreeMap<String, usize>,
}

pub struct District {
    pub tenant: Arc<Tenant>,
    pub pool: DbPool,
    cast: Cast,
    /// 0 = the most careful district.
    tier: usize,
    per_day: f64,
    /// Where problems are found: address points (with their text) or cell centres.
    places: Vec<(f64, f64, Option<String>)>,
    report_photos: Vec<String>,
    fix_photos: Vec<String>,
    pub tally: Tally,
}

fn claims(conn: &mut PgConnection, tenant: &Tenant, username: &str) -> Result<Claims, String> {
    let user = citygrid_platform::user::find_by_username(conn, username)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{}: no user {username} yet", tenant.code()))?;
    Ok(Claims {
        sub: user.id,
        username: user.username,
        district: tenant.code().to_owned(),
        roles: user.roles,
        department: user.department_code,
        ver: user.token_version,
        iat: 0,
        exp: i64::MAX,
    })
}

fn cast(conn: &mut PgConnection, tenant: &Tenant) -> Result<Cast, String> {
    let with = |role: Role| {
        tenant
            .config
            .users
            .iter()
            .filter(move |u| u.roles.iter().any(|r| r == role.as_str()))
    };
    let first = |role: Role| {
        with(role).next().ok_or_else(|| {
            format!(
                "{}: no seed user with role {}",
                tenant.code(),
                role.as_str()
            )
        })
    };
    let supervisors = with(Role::Supervisor)
        .map(|u| claims(conn, tenant, &u.username))
        .collect::<Result<Vec<_>, _>>()?;
    if supervisors.len() < 2 {
        return Err(format!(
            "{}: the simulation needs two supervisors (nobody checks their own report)",
            tenant.code()
        ));
    }
    let mut handlers = BTreeMap::new();
    for user in with(Role::Handler) {
        if let Some(department) = &user.department {
            handlers.insert(department.clone(), claims(conn, tenant, &user.username)?);
        }
    }
    Ok(Cast {
        supervisors,
        operator: claims(conn, tenant, &first(Role::Operator)?.username)?,
        dispatcher: claims(conn, tenant, &first(Role::Dispatcher)?.username)?,
        handlers,
    })
}

impl District {
    /// The district's cast, photos and places; fails while its instance has not seeded
    /// its users yet.
    pub fn new(
        tenant: Arc<Tenant>,
        pool: DbPool,
        tier: usize,
        per_day: f64,
    ) -> Result<District, String> {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let cast = cast(&mut conn, &tenant)?;
        // A few photos per district, shared by many cases (the store keeps one copy of
        // each content): the relay sends each to the city once.
        let store = MediaStore::new(&tenant.data_dir);
        let mut save = |tag: String, by: Uuid| {
            media::save(&mut conn, &store, &crate::client::photo(&tag), Some(by))
                .map(|(m, _)| m.sha256)
                .map_err(|e| e.to_string())
        };
        let code = tenant.code().to_owned();
        let report_photos = (0..4)
            .map(|i| save(format!("{code}-sim-report-{i}"), cast.supervisors[0].sub))
            .collect::<Result<Vec<_>, _>>()?;
        let fix_photos = (0..4)
            .map(|i| save(format!("{code}-sim-fix-{i}"), cast.dispatcher.sub))
            .collect::<Result<Vec<_>, _>>()?;
        let places: Vec<_> = tenant
            .addresses
            .iter()
            .flat_map(|g| g.points())
            .map(|p| (p.lon, p.lat, Some(p.address.clone())))
            .collect();
        let places = if places.is_empty() {
            let (lon, lat) = tenant.sample_point();
            vec![(lon, lat, None)]
        } else {
            places
        };
        Ok(District {
            tenant,
            pool,
            cast,
            tier,
            per_day,
            places,
            report_photos,
            fix_photos,
            tally: Tally::default(),
        })
    }

    pub fn code(&self) -> &str {
        self.tenant.code()
    }

    /// A random place in the district.
    pub fn place(&self, rng: &mut impl Rng) -> (f64, f64, Option<String>) {
        self.places[rng.random_range(0..self.places.len())].clone()
    }

    /// One simulated hour from `hour`: the reports that arrive in it, then every step that
    /// falls due in it.
    pub fn tick(
        &mut self,
        conn: &mut PgConnection,
        hour: DateTime<Utc>,
        rng: &mut impl Rng,
    ) -> Result<(), String> {
        let local = hour.with_timezone(&self.tenant.time_zone);
        let arrivals = script::poisson(rng, script::expected_reports(self.per_day, local));
        for _ in 0..arrivals {
            let at = hour + Duration::seconds(rng.random_range(0..3600));
            self.report(conn, at, rng);
        }
        let open: Vec<Case> = cases::table
            .filter(cases::state.eq_any(OPEN))
            .order(cases::number.asc())
            .select(Case::as_select())
            .load(conn)
            .map_err(|e| e.to_string())?;
        let end = hour + Duration::hours(1);
        for case in open {
            if let Some((actor, request, due)) = self.next_step(&case, hour) {
                // Never before the case's last change, never outside this hour.
                let at = due.max(hour).max(case.updated_at + Duration::minutes(1));
                if at < end {
                    self.apply(conn, &case, &actor, request, at);
                }
            }
        }
        Ok(())
    }

    /// A report arriving at `at`; one the district refuses is counted, not fatal.
    fn report(&mut self, conn: &mut PgConnection, at: DateTime<Utc>, rng: &mut impl Rng) {
        let problem = script::problem(rng);
        let who = script::reporter(rng);
        let (lon, lat, address) = self.place(rng);
        let description = problem.descriptions[rng.random_range(0..problem.descriptions.len())];
        let supervisor = &self.cast.supervisors[rng.random_range(0..self.cast.supervisors.len())];
        let (source, actor_role, reporter_id, photos) = match who {
            Reporter::Supervisor => (
                Source::Supervisor,
                ActorRole::Supervisor,
                Some(supervisor.sub),
                vec![self.report_photos[rng.random_range(0..self.report_photos.len())].clone()],
            ),
            Reporter::Public => (Source::Public, ActorRole::Public, None, Vec::new()),
            Reporter::Hotline => (
                Source::Hotline,
                ActorRole::Operator,
                Some(self.cast.operator.sub),
                Vec::new(),
            ),
        };
        let report = NewReport {
            case_id: None,
            source,
            description: description.to_owned(),
            lon,
            lat,
            address,
            street: None,
            category: parse_category(&format!("{}:{}", problem.kind, problem.code)),
            urgency: Urgency::Normal,
            photos,
            reporter_id,
            reporter_name: None,
            reporter_phone: (who != Reporter::Supervisor)
                .then(|| format!("138{:08}", rng.random_range(0..100_000_000u32))),
            actor_role,
            component_id: None,
            component_department: None,
        };
        let tenant = &self.tenant;
        let outcome = store::validate_report(tenant, &report)
            .and_then(|()| store::filing_stage(tenant, &report, at))
            .and_then(|filing| store::create_report(conn, tenant, &report, &filing, None, at));
        match outcome {
            Ok(_) => self.tally.reported += 1,
            Err(e) => {
                *self
                    .tally
                    .refused
                    .entry(format!("report: {e}"))
                    .or_default() += 1
            }
        }
    }

    fn handler(&self, department: Option<&str>) -> Option<Claims> {
        department.and_then(|d| self.cast.handlers.get(d)).cloned()
    }

    /// The supervisor who goes on site: the task's assignee, or anyone but the reporter.
    fn on_site(&self, case: &Case) -> Claims {
        let pick = case
            .task_assignee
            .and_then(|id| self.cast.supervisors.iter().find(|s| s.sub == id))
            .or_else(|| {
                self.cast
                    .supervisors
                    .iter()
                    .find(|s| Some(s.sub) != case.reporter_id)
            });
        pick.unwrap_or(&self.cast.supervisors[0]).clone()
    }

    /// Who takes the case's next step, what it is and when it falls due; None when
    /// nobody is on duty for it at `hour` or it waits for something outside the loop.
    fn next_step(&self, case: &Case, hour: DateTime<Utc>) -> Option<(Claims, Step, DateTime<Utc>)> {
        let local = hour.with_timezone(&self.tenant.time_zone);
        let share = |purpose: &str| script::share(case.id, case.version, purpose);
        let stage = |low: f64, high: f64, purpose: &str| {
            script::due_at(
                case.stage_started_at.unwrap_or(case.updated_at),
                case.stage_deadline,
                low + (high - low) * share(purpose),
            )
        };
        let public = matches!(case.source, Source::Public | Source::Hotline);
        let centre = script::centre_on_duty(local);
        let file = |case: &Case| {
            category(case)
                .map(|category| Step::File {
                    category,
                    condition: None,
                    description: None,
                    street: None,
                    urgency: None,
                })
                .map(|step| (self.cast.operator.clone(), step, stage(0.05, 0.5, "file")))
                .filter(|_| case.pending_request.is_none())
        };
        let reject = |reason| {
            let step = Step::Reject {
                reason,
                duplicate_of: None,
            };
            Some((self.cast.operator.clone(), step, stage(0.05, 0.4, "file")))
        };
        match case.state {
            _ if case.pending_request == Some(Pending::Referral) => None,
            State::Reported if !centre => None,
            State::Reported if public => Some((
                self.cast.operator.clone(),
                Step::RequestVerification,
                stage(0.02, 0.2, "triage"),
            )),
            // What the city found is the city's instruction (上级交办): filed, never refused.
            State::Reported if case.source != Source::City && share("refuse") < 0.04 => {
                reject(RejectReason::OutOfScope)
            }
            State::Reported => file(case),
            State::Verifying if !centre => None,
            State::Verifying => Some((
                self.on_site(case),
                Step::Verify {
                    confirmed: share("found") >= 0.07,
                },
                stage(0.1, 0.7, "verify"),
            )),
            State::Verified if !centre => None,
            State::Verified if case.verified == Some(false) => reject(RejectReason::Invalid),
            State::Verified => file(case),
            State::Filed if !centre => None,
            State::Filed => {
                // One in thirty goes to the wrong department, which sends it back.
                let department = (share("misroute") < 0.033).then(|| "yuanlin".to_owned());
                Some((
                    self.cast.dispatcher.clone(),
                    Step::Dispatch { department },
                    stage(0.05, 0.5, "dispatch"),
                ))
            }
            State::Dispatched => self.department_step(case, local),
            State::Handled if !centre => None,
            State::Handled => {
                let profile = script::profile(self.tier, case.department_code.as_deref()?);
                // A second attempt fails less often.
                let rework =
                    f64::from(profile.rework) / 100.0 / f64::from(1 + 2 * case.rework_count);
                Some((
                    self.on_site(case),
                    Step::Check {
                        passed: share("check") >= rework,
                    },
                    stage(0.1, 0.7, "check"),
                ))
            }
            State::Checked if !centre => None,
            State::Checked if public => Some((
                self.cast.operator.clone(),
                Step::Callback {
                    satisfied: share("satisfied") >= 0.08,
                },
                stage(0.05, 0.6, "callback"),
            )),
            State::Checked | State::CalledBack if centre => Some((
                self.cast.operator.clone(),
                Step::Close,
                case.updated_at + Duration::minutes(10 + (50.0 * share("close")) as i64),
            )),
            _ => None,
        }
    }

    /// The department's next step on a dispatched case, or the dispatcher's decision on
    /// its request.
    fn department_step(
        &self,
        case: &Case,
        local: DateTime<chrono_tz::Tz>,
    ) -> Option<(Claims, Step, DateTime<Utc>)> {
        let share = |purpose: &str| script::share(case.id, case.version, purpose);
        let department = case.department_code.as_deref()?;
        if case.pending_request == Some(Pending::Extension) {
            return script::centre_on_duty(local).then(|| {
                (
                    self.cast.dispatcher.clone(),
                    Step::ApproveExtension { minutes: None },
                    case.updated_at + Duration::minutes(20 + (100.0 * share("decide")) as i64),
                )
            });
        }
        if case.pending_request.is_some() {
            return None;
        }
        let urgent = case.urgency == Urgency::Urgent;
        if !script::department_on_duty(local, urgent) {
            return None;
        }
        let handler = self.handler(Some(department))?;
        let profile = script::profile(self.tier, department);
        if case.supervision_pending {
            let (low, high) = profile.acknowledge_hours;
            let hours = low as f64 + (high - low) as f64 * share("acknowledge");
            return Some((
                handler,
                Step::AcknowledgeSupervision,
                case.updated_at + Duration::minutes((hours * 60.0) as i64),
            ));
        }
        let manual = steps::suggested_department(case, &self.tenant);
        if manual.as_deref().is_some_and(|m| m != department) {
            return Some((handler, Step::Return, case.updated_at + Duration::hours(2)));
        }
        let started = case.stage_started_at.unwrap_or(case.updated_at);
        // A supervised case jumps the queue: a few hours, a day for a struggling one.
        if case.supervision_level.is_some() {
            let hours = 2.0 + 20.0 * share("supervised") * (profile.slow - 0.5);
            return Some((
                handler,
                Step::Handle,
                case.updated_at + Duration::minutes((hours * 60.0) as i64),
            ));
        }
        let pace = profile.fast + (profile.slow - profile.fast) * share("handle");
        let late = pace > 1.0 && case.extension_minutes == 0;
        if late && share("extend") * 100.0 < f64::from(profile.extension) {
            // Asked for before the deadline, for a little more than the work needs.
            let limit = f64::from(case.stage_limit_minutes.unwrap_or(240));
            return Some((
                handler,
                Step::RequestExtension {
                    minutes: ((pace - 1.0 + 0.2) * limit).ceil() as i64,
                },
                script::due_at(started, case.stage_deadline, 0.7),
            ));
        }
        // After an extension, the work is done within the new limit.
        let pace = if case.extension_minutes > 0 {
            0.6 + 0.35 * share("handle")
        } else {
            pace
        };
        Some((
            handler,
            Step::Handle,
            script::due_at(started, case.stage_deadline, pace),
        ))
    }

    /// Takes `step` on `case` at `at` as `actor`; a refusal is counted, not fatal.
    fn apply(
        &mut self,
        conn: &mut PgConnection,
        case: &Case,
        actor: &Claims,
        step: Step,
        at: DateTime<Utc>,
    ) {
        let media = match step {
            Step::Handle => {
                vec![self.fix_photos[(case.number as usize) % self.fix_photos.len()].clone()]
            }
            _ => Vec::new(),
        };
        let counted = (
            matches!(step, Step::Close),
            matches!(step, Step::Check { passed: false }),
            matches!(step, Step::RequestExtension { .. }),
            matches!(step, Step::AcknowledgeSupervision),
        );
        let request = StepRequest {
            comment: comment(&step).map(str::to_owned),
            step,
            version: case.version,
            media,
        };
        match store::apply_step(conn, &self.tenant, actor, case.id, &request, at) {
            Ok(_) => {
                let tally = &mut self.tally;
                tally.steps += 1;
                tally.closed += usize::from(counted.0);
                tally.reworked += usize::from(counted.1);
                tally.extensions += usize::from(counted.2);
                tally.acknowledged += usize::from(counted.3);
            }
            Err(e) => {
                let key = format!("{}: {e}", request.step.action().as_str());
                *self.tally.refused.entry(key).or_default() += 1;
            }
        }
    }
}

/// What the person writes with a step; the loop requires a reason for a return, a failed
/// check, an unsatisfied call-back and an extension request.
fn comment(step: &Step) -> Option<&'static str> {
    Some(match step {
        Step::Reject {
            reason: RejectReason::Invalid,
            ..
        } => "现场核实未发现该问题",
        Step::Reject { .. } => "不属于数字城管受理范围",
        Step::Verify { confirmed: true } => "现场核实属实",
        Step::Verify { confirmed: false } => "现场未发现所报问题",
        Step::Return => "非本单位职责，请重新派遣",
        Step::Handle => "已按要求处置完毕",
        Step::Check { passed: true } => "现场复核已整改",
        Step::Check { passed: false } => "现场复核未整改到位，请返工",
        Step::Callback { satisfied: true } => "回访市民，表示满意",
        Step::Callback { satisfied: false } => "回访市民，表示不满意，要求重新处置",
        Step::RequestExtension { .. } => "需协调权属单位，申请延期",
        Step::AcknowledgeSupervision => "已收到督办，立即处置",
        _ => return None,
    })
}

/// The category a case was reported under.
fn category(case: &Case) -> Option<CategoryRef> {
    Some(CategoryRef {
        kind: case.category_kind?.into(),
        major: case.category_major.clone()?,
        minor: case.category_minor.clone()?,
        edition: None,
    })
}
