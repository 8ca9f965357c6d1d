//! Free-text Chinese addresses into comparable parts: road (or place), house number, and
//! what follows (building, unit, room).
//!
//! The same function runs over the gazetteer's addresses and over a query, so a variant is
//! matched as long as both sides end up the same. What it does, in order:
//! - full-width digits and letters to half-width (`１２０号` → `120号`), letters upper-case;
//!   spaces and punctuation dropped; `#` is `号` (`3#楼` → `3号楼`); a dash or `之` between
//!   digits marks a sub-number (`12-1号`, `12之1号` → `12-1号`);
//! - Chinese numerals before a unit (`号 幢 栋 楼 单元 室 层 弄`) to digits: `十二号` → `12号`,
//!   `一百零八号` and `一〇八号` → `108号` (numerals inside names, `十五奎巷`, stay);
//! - `号楼`, `栋` → `幢` (one building word);
//! - the places the district itself implies dropped from the front: country, province,
//!   city, the district's own name, its street offices (`湖滨街道`) and communities
//!   (`东坡路社区`), each [`Region`] knows; a short form (`浙江`, `杭州`, `上城`) only when
//!   another of them follows (`浙江杭州上城区…`), so a road named after a place keeps it;
//! - then the split: the road is the text before the first number (`中河中路`), a lane
//!   number with `弄`/`巷` stays part of it (`延安路123弄`), the house number is the number
//!   with `号` or nothing after it (`120号`, `120`), the rest is what follows (`3幢2单元`).

use std::fmt;

/// The places an address in one district may start with and that say nothing there.
#[derive(Debug, Clone, Default)]
pub struct Region {
    /// Dropped from the front in any order, longest first.
    full: Vec<String>,
    /// Dropped only when one of `full` or `short` follows.
    short: Vec<String>,
}

/// Province-level divisions by the first two digits of a GB/T 2260 code.
const PROVINCES: &[(&str, &str, &str)] = &[
    ("11", "北京市", "北京"),
    ("12", "天津市", "天津"),
    ("13", "河北省", "河北"),
    ("14", "山西省", "山西"),
    ("15", "内蒙古自治区", "内蒙古"),
    ("21", "辽宁省", "辽宁"),
    ("22", "吉林省", "吉林"),
    ("23", "黑龙江省", "黑龙江"),
    ("31", "上海市", "上海"),
    ("32", "江苏省", "江苏"),
    ("33", "浙江省", "浙江"),
    ("34", "安徽省", "安徽"),
    ("35", "福建省", "福建"),
    ("36", "江西省", "江西"),
    ("37", "山东省", "山东"),
    ("41", "河南省", "河南"),
    ("42", "湖北省", "湖北"),
    ("43", "湖南省", "湖南"),
    ("44", "广东省", "广东"),
    ("45", "广西壮族自治区", "广西"),
    ("46", "海南省", "海南"),
    ("50", "重庆市", "重庆"),
    ("51", "四川省", "四川"),
    ("52", "贵州省", "贵州"),
    ("53", "云南省", "云南"),
    ("54", "西藏自治区", "西藏"),
    ("61", "陕西省", "陕西"),
    ("62", "甘肃省", "甘肃"),
    ("63", "青海省", "青海"),
    ("64", "宁夏回族自治区", "宁夏"),
    ("65", "新疆维吾尔自治区", "新疆"),
];

/// Prefecture-level cities by the first four digits (Zhejiang's; add others as districts
/// of other cities join). Municipalities are named by [`PROVINCES`].
const CITIES: &[(&str, &str, &str)] = &[
    ("3301", "杭州市", "杭州"),
    ("3302", "宁波市", "宁波"),
    ("3303", "温州市", "温州"),
    ("3304", "嘉兴市", "嘉兴"),
    ("3305", "湖州市", "湖州"),
    ("3306", "绍兴市", "绍兴"),
    ("3307", "金华市", "金华"),
    ("3308", "衢州市", "衢州"),
    ("3309", "舟山市", "舟山"),
    ("3310", "台州市", "台州"),
    ("3311", "丽水市", "丽水"),
];

impl Region {
    /// The region of a district: its province and city (from the code), its own name, its
    /// street offices and communities (names as in the tenant file).
    pub fn of_district<'a>(
        code: &str,
        name: &str,
        streets: impl IntoIterator<Item = &'a str>,
        communities: impl IntoIterator<Item = &'a str>,
    ) -> Region {
        let mut full = vec!["中华人民共和国".to_owned(), "中国".to_owned()];
        let mut short = Vec::new();
        for (prefix, long, brief) in PROVINCES.iter().chain(CITIES) {
            if code.starts_with(prefix) {
                full.push((*long).to_owned());
                short.push((*brief).to_owned());
            }
        }
        let name = clean(name);
        if let Some(stem) = name
            .strip_suffix('区')
            .or_else(|| name.strip_suffix('县'))
            .filter(|s| s.chars().count() >= 2)
        {
            short.push(stem.to_owned());
        }
        full.push(name);
        for street in streets {
            let street = clean(street);
            // Offices are also written 街道办事处 or 街道办.
            if let Some(stem) = street.strip_suffix("街道") {
                full.push(format!("{stem}街道办事处"));
                full.push(format!("{stem}街道办"));
            }
            full.push(street);
        }
        full.extend(communities.into_iter().map(clean));
        full.retain(|p| !p.is_empty());
        full.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
        full.dedup();
        short.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
        Region { full, short }
    }

    /// Drops the places this region implies from the front of cleaned text.
    fn strip<'t>(&self, mut text: &'t str) -> &'t str {
        let follows = |rest: &str| {
            self.full
                .iter()
                .chain(&self.short)
                .any(|p| rest.starts_with(p.as_str()))
        };
        loop {
            if let Some(rest) = self.full.iter().find_map(|p| text.strip_prefix(p.as_str())) {
                text = rest;
            } else if let Some(rest) = self
                .short
                .iter()
                .find_map(|p| text.strip_prefix(p.as_str()).filter(|rest| follows(rest)))
            {
                text = rest;
            } else {
                return text;
            }
        }
    }
}

/// A house number (门牌号): `120号` is 120, `12-1号` is 12 with sub-number 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HouseNumber {
    pub main: u32,
    pub sub: Option<u32>,
}

impl fmt::Display for HouseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sub {
            Some(sub) => write!(f, "{}-{sub}号", self.main),
            None => write!(f, "{}号", self.main),
        }
    }
}

/// An address in comparable parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Normalised {
    /// The road, lane or place: the text before the house number (`中河中路`,
    /// `延安路123弄`), or all of it when there is no number (`西湖文化广场`).
    pub road: String,
    pub number: Option<HouseNumber>,
    /// What follows the number: building, unit, room (`3幢2单元301室`).
    pub rest: String,
}

impl Normalised {
    /// Whether nothing is left to look for.
    pub fn is_empty(&self) -> bool {
        self.road.is_empty() && self.number.is_none() && self.rest.is_empty()
    }
}

impl fmt::Display for Normalised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.road)?;
        if let Some(number) = self.number {
            write!(f, "{number}")?;
        }
        f.write_str(&self.rest)
    }
}

/// Normalises an address of `region` (see the module documentation).
pub fn normalise(text: &str, region: &Region) -> Normalised {
    let cleaned = clean(text);
    let numbered = numerals(&cleaned);
    let unified = numbered.replace("号楼", "幢").replace('栋', "幢");
    split(region.strip(&unified))
}

/// Half-width, upper-case, no spaces or punctuation; `#` as `号`, `-` kept only between
/// digits (as is `之`, written `-`).
fn clean(text: &str) -> String {
    let chars: Vec<char> = text.chars().map(half_width).collect();
    let digit_at = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '#' => out.push('号'),
            '-' | '—' | '–' | '~' | '之' if i > 0 && digit_at(i - 1) && digit_at(i + 1) => {
                out.push('-');
            }
            c if c.is_ascii_alphabetic() => out.push(c.to_ascii_uppercase()),
            c if c.is_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

const NUMERALS: &str = "〇零一二两三四五六七八九十百千";
/// What a number counts in an address: a numeral run before one of these is a number.
const UNITS: [&str; 8] = ["号", "幢", "栋", "楼", "单元", "室", "层", "弄"];

/// Chinese numerals before a unit as digits.
fn numerals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if NUMERALS.contains(chars[i]) {
            let end = (i..chars.len())
                .find(|&j| !NUMERALS.contains(chars[j]))
                .unwrap_or(chars.len());
            let after: String = chars[end..].iter().take(2).collect();
            let run: String = chars[i..end].iter().collect();
            match cn_number(&run).filter(|_| UNITS.iter().any(|u| after.starts_with(u))) {
                Some(n) => out.push_str(&n.to_string()),
                None => out.push_str(&run),
            }
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// `十二` → 12, `一百零八` → 108, `一〇八` → 108 (digit by digit without 十百千).
fn cn_number(run: &str) -> Option<u32> {
    let digit = |c: char| match c {
        '〇' | '零' => Some(0),
        '一' => Some(1),
        '二' | '两' => Some(2),
        '三' => Some(3),
        '四' => Some(4),
        '五' => Some(5),
        '六' => Some(6),
        '七' => Some(7),
        '八' => Some(8),
        '九' => Some(9),
        _ => None,
    };
    if !run.contains(['十', '百', '千']) {
        return run
            .chars()
            .try_fold(0u32, |n, c| n.checked_mul(10)?.checked_add(digit(c)?));
    }
    let (mut total, mut pending) = (0u32, None::<u32>);
    let mut last_unit = u32::MAX;
    for c in run.chars() {
        let unit = match c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            // 一百零八: the zero only holds a place.
            '〇' | '零' => continue,
            _ => {
                if pending.is_some() {
                    return None; // two digits in a row: not a number
                }
                pending = Some(digit(c)?);
                continue;
            }
        };
        if unit >= last_unit {
            return None;
        }
        last_unit = unit;
        total += pending.take().unwrap_or(1) * unit;
    }
    Some(total + pending.unwrap_or(0))
}

/// Road, number, rest.
fn split(text: &str) -> Normalised {
    let mut road = String::new();
    let mut rest = text;
    loop {
        let Some(at) = rest.find(|c: char| c.is_ascii_digit()) else {
            road.push_str(rest);
            return Normalised {
                road,
                number: None,
                rest: String::new(),
            };
        };
        road.push_str(&rest[..at]);
        let (main, after) = digits(&rest[at..]);
        // A lane number (延安路123弄5号): part of the road.
        if let Some(tail) = after
            .strip_prefix('弄')
            .or_else(|| after.strip_prefix('巷'))
        {
            road.push_str(&rest[at..rest.len() - tail.len()]);
            rest = tail;
            continue;
        }
        let (sub, after) = match after.strip_prefix('-') {
            Some(tail) if tail.starts_with(|c: char| c.is_ascii_digit()) => {
                let (sub, tail) = digits(tail);
                (sub, tail)
            }
            _ => (None, after),
        };
        let (numbered, after) = match after.strip_prefix('号') {
            Some(tail) => (true, tail),
            None => (after.is_empty(), after),
        };
        return match main.filter(|_| numbered) {
            Some(main) => Normalised {
                road,
                number: Some(HouseNumber { main, sub }),
                rest: after.to_owned(),
            },
            // A number of something else (3幢): no house number.
            None => Normalised {
                road,
                number: None,
                rest: rest[at..].to_owned(),
            },
        };
    }
}

/// The leading ASCII digits as a number (None when too big), and what follows.
fn digits(text: &str) -> (Option<u32>, &str) {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    (text[..end].parse().ok(), &text[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> Region {
        Region::of_district(
            "330102",
            "上城区",
            ["湖滨街道", "小营街道"],
            ["东坡路社区", "小营巷社区"],
        )
    }

    fn key(text: &str) -> String {
        normalise(text, &region()).to_string()
    }

    #[test]
    fn variants_of_one_address_normalise_alike() {
        let same = [
            "解放路120号",
            "解放路120",
            "解放路 120 号",
            "解放路１２０号",
            "浙江省杭州市上城区解放路120号",
            "浙江杭州上城区解放路120号",
            "杭州市上城区湖滨街道解放路120号",
            "上城区湖滨街道办事处东坡路社区解放路120号",
            "中国浙江省杭州市上城区解放路一百二十号",
            "解放路一二〇号",
            "（上城区）解放路120号。",
        ];
        for text in same {
            assert_eq!(key(text), "解放路120号", "{text}");
        }
    }

    #[test]
    fn buildings_units_and_sub_numbers() {
        let cases = [
            ("解放路120号3幢", "解放路", Some((120, None)), "3幢"),
            ("解放路120号3栋", "解放路", Some((120, None)), "3幢"),
            ("解放路120号3号楼", "解放路", Some((120, None)), "3幢"),
            (
                "解放路120号3#楼2单元301室",
                "解放路",
                Some((120, None)),
                "3幢2单元301室",
            ),
            (
                "解放路120号三栋二单元",
                "解放路",
                Some((120, None)),
                "3幢2单元",
            ),
            ("解放路12-1号", "解放路", Some((12, Some(1))), ""),
            ("解放路12之1号", "解放路", Some((12, Some(1))), ""),
            ("延安路123弄5号", "延安路123弄", Some((5, None)), ""),
            ("某某小区3幢", "某某小区", None, "3幢"),
            ("西湖文化广场", "西湖文化广场", None, ""),
            ("Ａ座", "A座", None, ""),
        ];
        for (text, road, number, rest) in cases {
            let n = normalise(text, &region());
            assert_eq!(
                (
                    n.road.as_str(),
                    n.number.map(|h| (h.main, h.sub)),
                    n.rest.as_str()
                ),
                (road, number, rest),
                "{text}"
            );
        }
    }

    #[test]
    fn names_with_numerals_and_places_keep_them() {
        // 十五奎巷 and 五柳巷 are names; 上城 alone is not dropped before a road; a
        // community name is dropped only whole.
        assert_eq!(key("十五奎巷8号"), "十五奎巷8号");
        assert_eq!(key("五柳巷二号"), "五柳巷2号");
        assert_eq!(key("上城路5号"), "上城路5号");
        assert_eq!(key("东坡路12号"), "东坡路12号");
        assert_eq!(key("浙江路5号"), "浙江路5号");
        assert!(normalise("浙江省杭州市上城区", &region()).is_empty());
    }

    #[test]
    fn chinese_numbers() {
        for (run, n) in [
            ("十", Some(10)),
            ("十二", Some(12)),
            ("二十", Some(20)),
            ("二十三", Some(23)),
            ("一百零八", Some(108)),
            ("一〇八", Some(108)),
            ("两千零五", Some(2005)),
            ("三百", Some(300)),
            ("十百", None),
            ("二三十", None),
        ] {
            assert_eq!(cn_number(run), n, "{run}");
        }
    }
}
