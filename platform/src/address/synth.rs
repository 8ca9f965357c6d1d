//! Synthetic address points for the sample districts (`citygrid district address synth`):
//! straight roads across the district, east–west and north–south about `road_metres`
//! apart, named from a fixed list of plausible names (shuffled by the district code, so
//! each district gets its own and the output never changes), with doors every
//! `door_metres` — odd numbers on the north or east side, even ones across the road, both
//! counting from the west or south edge — kept where they fall inside the boundary. Each
//! point takes its street and community from the grid cell it is in, when there is a grid.
//! They look like a gazetteer and check clean; they are no real addresses, and their files
//! say so.

use geo::{BoundingRect, Contains, Point};

use citygrid_kit::seeded::SplitMix64;

use super::AddressPoint;
use crate::grid::{Frame, Grid};

/// Metres per degree of latitude (and of longitude at the equator), WGS 84 mean.
const METRES_PER_DEGREE: f64 = 111_320.0;

/// Road names' first parts: plausible for Hangzhou, none placed where a real road is.
const STEMS: &[&str] = &[
    "青莲", "紫荆", "梧桐", "银杏", "望潮", "清和", "玉泉", "钱江", "金沙", "海棠", "桂花", "兰亭",
    "竹园", "松涛", "柳浪", "荷风", "石榴", "芙蓉", "丁香", "樱花", "枫林", "杏花", "梅岭", "翠苑",
    "锦绣", "明月", "春晖", "秋水", "云栖", "茶香", "丰乐", "永安", "太和", "长庆", "东园", "西园",
    "南塘", "北山", "新华", "和平", "建设", "文昌", "学士", "体育", "公园", "河滨", "湖畔", "运河",
    "古荡", "天工", "育英", "教场", "保安", "宝华", "莫邪", "大成", "祥和", "凤栖", "龙泉", "白鹭",
    "星桥", "月塘", "霞湾", "雨航",
];

pub fn synthetic(
    frame: &Frame,
    grid: Option<&Grid>,
    road_metres: f64,
    door_metres: f64,
) -> Result<Vec<AddressPoint>, String> {
    if !(200.0..=5000.0).contains(&road_metres) {
        return Err(format!("roads {road_metres} m apart: choose 200 to 5000"));
    }
    if !(10.0..=500.0).contains(&door_metres) {
        return Err(format!("doors {door_metres} m apart: choose 10 to 500"));
    }
    let bounds = frame
        .boundary
        .bounding_rect()
        .ok_or("the district boundary is empty")?;
    let (min, max) = (bounds.min(), bounds.max());
    let metres_per_lon = METRES_PER_DEGREE * ((min.y + max.y) / 2.0).to_radians().cos();
    let (width, height) = (
        (max.x - min.x) * metres_per_lon,
        (max.y - min.y) * METRES_PER_DEGREE,
    );
    let east_west = ((height / road_metres) as usize).max(1);
    let north_south = ((width / road_metres) as usize).max(1);
    if east_west + north_south > STEMS.len() {
        return Err(format!(
            "{} roads but {} names: choose roads further apart",
            east_west + north_south,
            STEMS.len()
        ));
    }
    let mut names: Vec<&str> = STEMS.to_vec();
    let seed = frame
        .district
        .bytes()
        .fold(0_u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut stream = SplitMix64::new(seed);
    for i in (1..names.len()).rev() {
        names.swap(i, stream.below(i as u64 + 1) as usize);
    }
    // Doors stand this far from the road's middle line.
    let side = 12.0;
    let mut points = Vec::new();
    for (r, stem) in names.iter().take(east_west + north_south).enumerate() {
        let horizontal = r < east_west;
        let (road, length) = if horizontal {
            let kind = if r % 4 == 3 { "街" } else { "路" };
            (format!("{stem}{kind}"), width)
        } else {
            let kind = if r == east_west + north_south / 2 {
                "大道"
            } else {
                "路"
            };
            (format!("{stem}{kind}"), height)
        };
        // The road's offset from the south (west) edge, metres.
        let across = if horizontal {
            height * (r + 1) as f64 / (east_west + 1) as f64
        } else {
            width * (r - east_west + 1) as f64 / (north_south + 1) as f64
        };
        let doors = (length / door_metres) as u32;
        for k in 0..doors {
            let along = (f64::from(k) + 0.5) * door_metres;
            for (number, offset) in [(2 * k + 1, side), (2 * k + 2, -side)] {
                let (x, y) = if horizontal {
                    (along, across + offset)
                } else {
                    (across + offset, along)
                };
                let lon = round(min.x + x / metres_per_lon);
                let lat = round(min.y + y / METRES_PER_DEGREE);
                if !frame.boundary.contains(&Point::new(lon, lat)) {
                    continue;
                }
                let cell = grid.and_then(|g| g.locate(lon, lat));
                points.push(AddressPoint {
                    id: format!("{}-{:05}", frame.district, points.len() + 1),
                    address: format!("{road}{number}号"),
                    lon,
                    lat,
                    street: cell.map(|c| c.code.street().to_owned()),
                    community: cell.map(|c| c.code.community().to_owned()),
                });
            }
        }
    }
    if points.is_empty() {
        return Err("no door falls inside the district: choose roads closer together".into());
    }
    Ok(points)
}

fn round(degrees: f64) -> f64 {
    (degrees * 1e7).round() / 1e7
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use geo::{MultiPolygon, Rect};

    use super::*;
    use crate::address::{Gazetteer, MatchKind, Region};

    fn frame(district: &str) -> Frame {
        Frame {
            district: district.into(),
            boundary: MultiPolygon::new(vec![
                Rect::new((120.0, 30.0), (120.03, 30.02)).to_polygon(),
            ]),
            streets: BTreeMap::new(),
        }
    }

    #[test]
    fn synthetic_points_are_inside_unique_and_find_themselves() {
        let points = synthetic(&frame("330102"), None, 800.0, 80.0).expect("points");
        assert!(points.len() > 250, "{}", points.len());
        assert_eq!(
            points,
            synthetic(&frame("330102"), None, 800.0, 80.0).expect("again")
        );
        let other = synthetic(&frame("330105"), None, 800.0, 80.0).expect("points");
        assert_ne!(
            points[0].address, other[0].address,
            "names differ by district"
        );
        let mut addresses: Vec<&str> = points.iter().map(|p| p.address.as_str()).collect();
        addresses.sort_unstable();
        addresses.dedup();
        assert_eq!(addresses.len(), points.len(), "every address once");
        let g = Gazetteer::new(points.clone(), Region::default());
        for p in points.iter().step_by(37) {
            let hits = g.geocode(&p.address, 1);
            assert_eq!(
                (hits[0].point.id.as_str(), hits[0].kind),
                (p.id.as_str(), MatchKind::Exact)
            );
            let (nearest, metres) = g.reverse(p.lon, p.lat).expect("nearest");
            assert_eq!((nearest.id.as_str(), metres), (p.id.as_str(), 0.0));
        }
        assert!(synthetic(&frame("330102"), None, 50.0, 80.0).is_err());
    }
}
