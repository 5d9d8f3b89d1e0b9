//! Durations in configuration: `90s`, `30m`, `24h`, `397d`, `10y`.
//!
//! A year is 365 days: certificate lifetimes are policy limits, and a
//! validity one day short of a calendar year never breaks a rule.

use std::time::Duration;

/// Parses `<number><unit>` with unit `s`, `m`, `h`, `d` or `y`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("duration `{text}` needs a unit (s, m, h, d or y)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("duration `{text}` does not start with a number"))?;
    let unit_secs: u64 = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "y" => 365 * 86_400,
        other => return Err(format!("unknown duration unit `{other}` in `{text}`")),
    };
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("duration `{text}` is too long"))
}

/// Formats a duration in the largest whole unit, the inverse of
/// [`parse_duration`].
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, secs) in [("y", 365 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s >= secs && s.is_multiple_of(secs) {
            return format!("{}{unit}", s / secs);
        }
    }
    format!("{s}s")
}
