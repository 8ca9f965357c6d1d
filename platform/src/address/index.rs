//! The gazetteer's lookups: text → address points (exact, then the same road, then a
//! similar one, each with a score), and a point → the nearest address point.
//!
//! Scores, 0 to 1 (docs/API.md, "Addresses"):
//! - `exact`, 1: road, house number and what follows are the same after normalisation;
//! - `prefix`, the same road (or a known road at the end of what was given, ×0.97):
//!   the same house number with another building or room 0.95 (another sub-number 0.92);
//!   another house number 0.9 − 0.01 per number between them, − 0.05 on the other side of
//!   the road (odd and even), at least 0.5; no house number asked 0.7, a point without one
//!   0.6; the start of a road's name (`解放` for `解放路`) at most 0.7;
//! - `fuzzy`, another road whose name is similar (edit distance, also against the end of
//!   what was given): that road's `prefix` score × the similarity × 0.9.
//!
//! A report is placed by an address only from [`super::PLACE_SCORE`] (0.8) up: the exact
//! address, the same door with another building, or a door at most ten numbers away on the
//! same side of the same road.

use std::collections::{BTreeMap, HashMap};

use geo::{Distance, Haversine, Point};
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::normalise::{HouseNumber, Normalised, Region, normalise};
use super::{AddressPoint, MatchKind};

/// One answer to a lookup.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub point: &'a AddressPoint,
    /// 0 to 1, three decimals.
    pub score: f64,
    pub kind: MatchKind,
}

/// A district's address points, ready for lookups.
pub struct Gazetteer {
    points: Vec<AddressPoint>,
    normalised: Vec<Normalised>,
    region: Region,
    by_key: HashMap<Normalised, Vec<usize>>,
    /// Road → its points, by house number.
    by_road: BTreeMap<String, Vec<usize>>,
    /// Points at (lon × `lon_scale`, lat): near-metric in a district, for the nearest one.
    tree: RTree<GeomWithData<[f64; 2], usize>>,
    lon_scale: f64,
}

impl std::fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gazetteer")
            .field("points", &self.points.len())
            .field("roads", &self.by_road.len())
            .finish_non_exhaustive()
    }
}

/// Similar road names below this are not offered.
const MIN_SIMILARITY: f64 = 0.5;
/// At most this many similar roads are looked at.
const FUZZY_ROADS: usize = 5;

impl Gazetteer {
    /// Indexes points (checked ones: see [`super::read`]) in the district's `region`.
    pub fn new(mut points: Vec<AddressPoint>, region: Region) -> Gazetteer {
        points.sort_by(|a, b| a.id.cmp(&b.id));
        let normalised: Vec<Normalised> = points
            .iter()
            .map(|p| normalise(&p.address, &region))
            .collect();
        let mut by_key: HashMap<Normalised, Vec<usize>> = HashMap::new();
        let mut by_road: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, n) in normalised.iter().enumerate() {
            by_key.entry(n.clone()).or_default().push(i);
            by_road.entry(n.road.clone()).or_default().push(i);
        }
        for indices in by_road.values_mut() {
            indices.sort_by_key(|&i| (normalised[i].number, i));
        }
        let mean_lat = if points.is_empty() {
            0.0
        } else {
            points.iter().map(|p| p.lat).sum::<f64>() / points.len() as f64
        };
        let lon_scale = mean_lat.to_radians().cos();
        let tree = RTree::bulk_load(
            points
                .iter()
                .enumerate()
                .map(|(i, p)| GeomWithData::new([p.lon * lon_scale, p.lat], i))
                .collect(),
        );
        Gazetteer {
            points,
            normalised,
            region,
            by_key,
            by_road,
            tree,
            lon_scale,
        }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// How many distinct roads (or places without a number).
    pub fn roads(&self) -> usize {
        self.by_road.len()
    }

    pub fn points(&self) -> &[AddressPoint] {
        &self.points
    }

    /// The address as this gazetteer compares it.
    pub fn normalise(&self, text: &str) -> Normalised {
        normalise(text, &self.region)
    }

    /// The best `limit` points for free text, best first (ties by id).
    pub fn geocode(&self, text: &str, limit: usize) -> Vec<Hit<'_>> {
        let query = self.normalise(text);
        if query.road.is_empty() {
            return Vec::new();
        }
        let mut best: HashMap<usize, (f64, MatchKind)> = HashMap::new();
        let mut offer = |i: usize, score: f64, kind: MatchKind| {
            let entry = best.entry(i).or_insert((score, kind));
            if score > entry.0 {
                *entry = (score, kind);
            }
        };
        for &i in self.by_key.get(&query).into_iter().flatten() {
            offer(i, 1.0, MatchKind::Exact);
        }
        // The road as given, or a known road at its end (text before it we could not place).
        let chars: Vec<char> = query.road.chars().collect();
        let road = (0..chars.len().saturating_sub(1)).find_map(|start| {
            let tail: String = chars[start..].iter().collect();
            let factor = if start == 0 { 1.0 } else { 0.97 };
            self.by_road
                .get_key_value(&tail)
                .map(|(k, v)| (k, v, factor))
        });
        if let Some((_, indices, factor)) = road {
            for &i in indices {
                offer(i, factor * self.same_road(&query, i), MatchKind::Prefix);
            }
        } else if query.number.is_none() {
            // The start of a road's name, as someone types it.
            let given = chars.len() as f64;
            for (name, indices) in self
                .by_road
                .range(query.road.clone()..)
                .take_while(|(name, _)| name.starts_with(&query.road))
            {
                let share = given / name.chars().count() as f64;
                for &i in indices {
                    offer(i, 0.5 + 0.2 * share, MatchKind::Prefix);
                }
            }
        }
        // Similar roads.
        let found = road.map(|(name, _, _)| name.as_str());
        let mut similar: Vec<(f64, &str)> = self
            .by_road
            .keys()
            .filter(|name| Some(name.as_str()) != found)
            .map(|name| (similarity(&chars, name), name.as_str()))
            .filter(|(s, _)| *s >= MIN_SIMILARITY)
            .collect();
        similar.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        for (s, name) in similar.into_iter().take(FUZZY_ROADS) {
            for &i in self.by_road.get(name).into_iter().flatten() {
                offer(i, s * 0.9 * self.same_road(&query, i), MatchKind::Fuzzy);
            }
        }
        let mut hits: Vec<Hit<'_>> = best
            .into_iter()
            .map(|(i, (score, kind))| Hit {
                point: &self.points[i],
                score: (score * 1000.0).round() / 1000.0,
                kind,
            })
            .collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.kind.cmp(&b.kind))
                .then(a.point.id.cmp(&b.point.id))
        });
        hits.truncate(limit);
        hits
    }

    /// The score of point `i` for `query` when the road is the same.
    fn same_road(&self, query: &Normalised, i: usize) -> f64 {
        let point = &self.normalised[i];
        match (query.number, point.number) {
            (Some(q), Some(p)) if q == p => {
                if query.rest == point.rest {
                    1.0
                } else {
                    0.95
                }
            }
            (Some(q), Some(p)) if q.main == p.main => 0.92,
            (Some(q), Some(p)) => doors_apart(q, p),
            (None, _) => 0.7,
            (Some(_), None) => 0.6,
        }
    }

    /// The nearest address point to (lon, lat) and its distance in metres.
    pub fn reverse(&self, lon: f64, lat: f64) -> Option<(&AddressPoint, f64)> {
        let nearest = self.tree.nearest_neighbor(&[lon * self.lon_scale, lat])?;
        let point = &self.points[nearest.data];
        let metres = Haversine.distance(Point::new(lon, lat), Point::new(point.lon, point.lat));
        Some((point, metres))
    }
}

fn doors_apart(q: HouseNumber, p: HouseNumber) -> f64 {
    let apart = q.main.abs_diff(p.main);
    let side = if apart % 2 == 1 { 0.05 } else { 0.0 };
    (0.9 - 0.01 * f64::from(apart) - side).max(0.5)
}

/// How alike a road name is to what was given: 1 − edit distance / longer length, or, when
/// more was given, the same against its end (× 0.95).
fn similarity(given: &[char], name: &str) -> f64 {
    let name: Vec<char> = name.chars().collect();
    let whole = 1.0 - levenshtein(given, &name) as f64 / given.len().max(name.len()) as f64;
    if given.len() > name.len() {
        let tail = &given[given.len() - name.len()..];
        let end = 1.0 - levenshtein(tail, &name) as f64 / name.len() as f64;
        whole.max(0.95 * end)
    } else {
        whole
    }
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: &str, address: &str, lon: f64, lat: f64) -> AddressPoint {
        AddressPoint {
            id: id.into(),
            address: address.into(),
            lon,
            lat,
            street: None,
            community: None,
        }
    }

    /// Doors every 0.0005° (about 48 m) east along 解放路 and north along 中河中路.
    fn gazetteer() -> Gazetteer {
        let mut points = Vec::new();
        for n in 1..=40_u32 {
            // Odd numbers on the north (east) side, even ones across the road.
            let (along, side) = (
                f64::from((n - 1) / 2) * 0.0005,
                if n % 2 == 1 { 0.0001 } else { -0.0001 },
            );
            let (jiefang, zhonghe) = (format!("解放路{n}号"), format!("上城区中河中路{n}号"));
            points.push(point(
                &format!("J{n:03}"),
                &jiefang,
                120.17 + along,
                30.26 + side,
            ));
            points.push(point(
                &format!("Z{n:03}"),
                &zhonghe,
                120.165 + side,
                30.25 + along,
            ));
        }
        points.push(point("J120A", "解放路120号3幢", 120.18, 30.2601));
        points.push(point("J120", "解放路120号", 120.1801, 30.2601));
        points.push(point("P1", "西湖文化广场", 120.169, 30.275));
        let region = Region::of_district("330102", "上城区", ["湖滨街道"], ["东坡路社区"]);
        Gazetteer::new(points, region)
    }

    fn first(g: &Gazetteer, text: &str) -> (String, f64, MatchKind) {
        let hits = g.geocode(text, 5);
        let hit = hits.first().unwrap_or_else(|| panic!("no hit for {text}"));
        (hit.point.id.clone(), hit.score, hit.kind)
    }

    #[test]
    fn typical_variants_find_the_address_exactly() {
        let g = gazetteer();
        for text in [
            "解放路120号",
            "解放路120",
            "解放路 １２０ 号",
            "浙江省杭州市上城区解放路120号",
            "杭州市上城区湖滨街道解放路一百二十号",
            "上城区 解放路 120号",
        ] {
            assert_eq!(
                first(&g, text),
                ("J120".into(), 1.0, MatchKind::Exact),
                "{text}"
            );
        }
        // The address with its building, in any of its spellings.
        for text in [
            "解放路120号3幢",
            "解放路120号3栋",
            "解放路120号3号楼",
            "解放路120号三栋",
        ] {
            assert_eq!(
                first(&g, text),
                ("J120A".into(), 1.0, MatchKind::Exact),
                "{text}"
            );
        }
        // A gazetteer address written with its district matches one written without.
        assert_eq!(
            first(&g, "中河中路7号"),
            ("Z007".into(), 1.0, MatchKind::Exact)
        );
        assert_eq!(
            first(&g, "西湖文化广场"),
            ("P1".into(), 1.0, MatchKind::Exact)
        );
    }

    #[test]
    fn the_same_road_gives_the_nearest_door() {
        let g = gazetteer();
        // A room in a known door: the door, nearly sure.
        assert_eq!(
            first(&g, "解放路120号2单元301室"),
            ("J120".into(), 0.95, MatchKind::Prefix)
        );
        // A door not in the list: the nearest on the same side first.
        assert_eq!(
            first(&g, "解放路41号"),
            ("J039".into(), 0.88, MatchKind::Prefix)
        );
        assert_eq!(
            first(&g, "解放路42号"),
            ("J040".into(), 0.88, MatchKind::Prefix)
        );
        // Place text we cannot name before a known road: still that road.
        assert_eq!(
            first(&g, "杭州上城解放路7号"),
            ("J007".into(), 0.97, MatchKind::Prefix)
        );
        // A road without a number: its doors, below what places a report.
        let (_, score, kind) = first(&g, "解放路");
        assert_eq!((score, kind), (0.7, MatchKind::Prefix));
        // The start of a road's name, as typed.
        let (id, score, kind) = first(&g, "中河");
        assert!(
            id.starts_with('Z') && score < 0.7 && kind == MatchKind::Prefix,
            "{id} {score}"
        );
    }

    #[test]
    fn a_typo_is_fuzzy_and_scores_lower() {
        let g = gazetteer();
        let (id, score, kind) = first(&g, "解放璐7号");
        assert_eq!((id.as_str(), kind), ("J007", MatchKind::Fuzzy));
        assert!(
            score < crate::address::PLACE_SCORE && score > 0.5,
            "{score}"
        );
        let (id, score, kind) = first(&g, "中河中璐7号");
        assert_eq!((id.as_str(), kind), ("Z007", MatchKind::Fuzzy));
        assert!(
            score < crate::address::PLACE_SCORE && score > 0.6,
            "{score}"
        );
    }

    #[test]
    fn an_unknown_road_finds_nothing_that_places_a_report() {
        let g = gazetteer();
        for text in [
            "延安路5号",
            "凤起路120号",
            "浙江省杭州市上城区",
            "",
            "120号",
        ] {
            let hits = g.geocode(text, 5);
            assert!(
                hits.iter().all(|h| h.score < crate::address::PLACE_SCORE),
                "{text}: {:?}",
                hits.iter()
                    .map(|h| (&h.point.id, h.score))
                    .collect::<Vec<_>>()
            );
        }
        assert!(g.geocode("延安路5号", 5).is_empty());
    }

    #[test]
    fn ranking_and_limit() {
        let g = gazetteer();
        let hits = g.geocode("解放路7号", 3);
        let ids: Vec<&str> = hits.iter().map(|h| h.point.id.as_str()).collect();
        assert_eq!(ids, ["J007", "J005", "J009"]);
        assert_eq!(hits[0].kind, MatchKind::Exact);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn reverse_finds_the_nearest_door_and_its_distance() {
        let g = gazetteer();
        // 10 m north of 解放路7号 (120.1715, 30.2601).
        let (point, metres) = g
            .reverse(120.1715, 30.2601 + 10.0 / 111_195.0)
            .expect("nearest");
        assert_eq!(point.id, "J007");
        assert!((metres - 10.0).abs() < 0.1, "{metres}");
        assert!(
            Gazetteer::new(Vec::new(), Region::default())
                .reverse(120.0, 30.0)
                .is_none()
        );
    }

    #[test]
    fn edit_distance() {
        let chars = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(levenshtein(&chars("解放路"), &chars("解放璐")), 1);
        assert_eq!(levenshtein(&chars(""), &chars("路")), 1);
        assert_eq!(levenshtein(&chars("中河中路"), &chars("中河路")), 1);
        assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
    }
}
