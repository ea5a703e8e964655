//! The `Retry-After` header of a busy server (RFC 9110 §10.2.3): how long to wait before
//! sending the same request again, after HTTP 429 (Too Many Requests, RFC 6585 §4) or
//! 503 (Service Unavailable, RFC 9110 §15.6.4).

use std::time::{Duration, SystemTime};

use super::MAX_RETRY_AFTER;

/// The wait a `Retry-After` value asks for at `now`: delay-seconds (`120`) or an
/// HTTP-date in its preferred IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`); a date
/// in the past is no wait. Cut to [`MAX_RETRY_AFTER`]; `None` when unreadable.
pub(super) fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than fit in a u64 is a very long wait.
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let at = imf_fixdate(value)?;
        at.duration_since(now).unwrap_or_default()
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7). The obsolete RFC 850 and asctime
/// forms are not read: servers must not send them.
fn imf_fixdate(value: &str) -> Option<SystemTime> {
    let mut parts = value.split(' ');
    let (_weekday, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || zone != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let mut hms = time.split(':').map(|n| n.parse::<u8>().ok());
    let (hour, minute, second) = (hms.next()??, hms.next()??, hms.next()??);
    let date = der::DateTime::new(
        year.parse().ok()?,
        u8::try_from(month).ok()?,
        day.parse().ok()?,
        hour,
        minute,
        second,
    )
    .ok()?;
    Some(date.to_system_time())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_seconds_and_dates_and_bounds_them() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_717); // 08:48:37
        assert_eq!(parse("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        // A date already past is no wait; a huge one is cut.
        assert_eq!(
            parse("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("99999999999999999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse("86400", now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let now = SystemTime::UNIX_EPOCH;
        for value in [
            "",
            "-5",
            "1.5",
            "soon",
            "Sunday, 06-Nov-94 08:49:37 GMT", // RFC 850, obsolete
            "Sun Nov  6 08:49:37 1994",       // asctime, obsolete
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 31 Feb 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse(value, now), None, "{value:?}");
        }
    }
}
