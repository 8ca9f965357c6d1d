//! The indicators (docs/APPRAISAL.md has each one's definition and source). Counts come
//! out of the engine's group-by; rates are exact ratios of two counts, kept as hundredths
//! of a percent (basis points) so that every output is the same to the last digit.

use serde::{Deserialize, Deserializer};

macro_rules! indicators {
    ($( $name:ident => $key:literal, $zh:literal; )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Indicator { $( $name, )* }

        impl Indicator {
            pub const ALL: &'static [Indicator] = &[$( Indicator::$name, )*];

            /// The name in configurations and outputs.
            pub fn key(self) -> &'static str {
                match self { $( Indicator::$name => $key, )* }
            }

            /// The name a Chinese report uses.
            pub fn chinese(self) -> &'static str {
                match self { $( Indicator::$name => $zh, )* }
            }
        }
    };
}

indicators! {
    Reported => "reported", "上报数";
    ReportedSupervisor => "reported_supervisor", "监督员上报数";
    ReportedPublic => "reported_public", "公众举报数";
    ReportedHotline => "reported_hotline", "热线上报数";
    ValidReported => "valid_reported", "有效上报数";
    Filed => "filed", "立案数";
    Dispatched => "dispatched", "派遣数";
    Returned => "returned", "退回数";
    Extended => "extended", "延期数";
    Due => "due", "应结案数";
    Suspended => "suspended", "缓办数";
    Handled => "handled", "处置数";
    HandledOnTime => "handled_on_time", "按期处置数";
    Closed => "closed", "结案数";
    ClosedOnTime => "closed_on_time", "按期结案数";
    Reworked => "reworked", "返工数";
    Overdue => "overdue", "超期数";
    PublicFound => "public_found", "监督举报数";
    CityFound => "city_found", "上级发现数";
    Rated => "rated", "回访数";
    Satisfied => "satisfied", "满意数";
    ValidReportRate => "valid_report_rate", "有效上报率";
    AccurateDispatchRate => "accurate_dispatch_rate", "准确派遣率";
    ExtensionRate => "extension_rate", "延期率";
    HandlingRate => "handling_rate", "处置率";
    OnTimeHandlingRate => "on_time_handling_rate", "按期处置率";
    CloseRate => "close_rate", "结案率";
    OnTimeCloseRate => "on_time_close_rate", "按期结案率";
    ReworkRate => "rework_rate", "返工率";
    PublicReportRate => "public_report_rate", "监督举报率";
    CityFoundRate => "city_found_rate", "上级发现率";
    SatisfactionRate => "satisfaction_rate", "公众满意率";
}

/// How a rate is formed from two counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDef {
    pub numerator: Indicator,
    pub denominator: Indicator,
    /// `1 − numerator / denominator` (准确派遣率 counts the dispatches not returned).
    pub complement: bool,
    /// A high value is bad: its composite score is `100 − rate`.
    pub lower_is_better: bool,
}

impl Indicator {
    /// The count indicators, in output order: what the engine aggregates.
    pub fn counts() -> impl Iterator<Item = Indicator> {
        Indicator::ALL.iter().copied().filter(|i| !i.is_rate())
    }

    pub fn rates() -> impl Iterator<Item = Indicator> {
        Indicator::ALL.iter().copied().filter(|i| i.is_rate())
    }

    pub fn is_rate(self) -> bool {
        self.rate().is_some()
    }

    pub fn rate(self) -> Option<RateDef> {
        use Indicator::*;
        let def = |numerator, denominator, complement, lower_is_better| {
            Some(RateDef {
                numerator,
                denominator,
                complement,
                lower_is_better,
            })
        };
        match self {
            ValidReportRate => def(ValidReported, Reported, false, false),
            AccurateDispatchRate => def(Returned, Dispatched, true, false),
            ExtensionRate => def(Extended, Dispatched, false, true),
            HandlingRate => def(Handled, Due, false, false),
            OnTimeHandlingRate => def(HandledOnTime, Due, false, false),
            CloseRate => def(Closed, Due, false, false),
            OnTimeCloseRate => def(ClosedOnTime, Due, false, false),
            ReworkRate => def(Reworked, Closed, false, true),
            PublicReportRate => def(PublicFound, Filed, false, true),
            CityFoundRate => def(CityFound, Filed, false, true),
            SatisfactionRate => def(Satisfied, Rated, false, false),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Indicator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Indicator, D::Error> {
        let key = String::deserialize(d)?;
        Indicator::ALL
            .iter()
            .copied()
            .find(|i| i.key() == key)
            .ok_or_else(|| serde::de::Error::custom(format!("no indicator {key:?}")))
    }
}

/// `numerator / denominator` in basis points (hundredths of a percent), rounded half up;
/// none when the denominator is zero (nothing to rate), never a division by zero.
pub fn basis_points(numerator: i64, denominator: i64) -> Option<i64> {
    (denominator > 0).then(|| (numerator * 20_000 + denominator) / (2 * denominator))
}

/// Basis points as a percentage with two decimals, e.g. `7582` → `75.82`.
pub fn percent(bp: i64) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up_and_an_empty_denominator_is_none() {
        // Tianmen, December 2016: 911 of 972 closed, 737 on time.
        assert_eq!(
            basis_points(911, 972).map(percent).as_deref(),
            Some("93.72")
        );
        assert_eq!(
            basis_points(737, 972).map(percent).as_deref(),
            Some("75.82")
        );
        assert_eq!(basis_points(1, 8), Some(1250));
        assert_eq!(basis_points(1, 3), Some(3333));
        assert_eq!(basis_points(2, 3), Some(6667));
        assert_eq!(basis_points(0, 0), None);
        assert_eq!(basis_points(5, 5).map(percent).as_deref(), Some("100.00"));
    }

    #[test]
    fn every_rate_is_over_counts() {
        for rate in Indicator::rates() {
            let def = rate.rate().expect("a rate");
            assert!(
                !def.numerator.is_rate() && !def.denominator.is_rate(),
                "{rate:?}"
            );
        }
        assert_eq!(
            Indicator::counts().count() + Indicator::rates().count(),
            Indicator::ALL.len()
        );
    }
}
