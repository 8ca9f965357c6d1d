//! The working-time calendar is the kit's (`citygrid_kit::calendar`): the city counts
//! working hours too. Re-exported for the district's paths, with the test calendars.

pub use citygrid_kit::calendar::*;

#[cfg(test)]
pub(crate) use citygrid_kit::calendar::testing::{beijing, sample_calendar};
