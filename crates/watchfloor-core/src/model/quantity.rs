//! Kubernetes quantities (`250m`, `1.5`, `100n`, `128Mi`, `1e3`) as integers, and back as text
//! the way `kubectl top` prints them. Integer arithmetic throughout, so `0.1` CPU is exactly
//! 100 millicores; junk (empty, negative, overflow, an unknown suffix) is `None`, never a panic.

/// A quantity split into `mantissa × 10^pow10 × 2^pow2`.
struct Parsed {
    mantissa: u128,
    pow10: i32,
    pow2: u32,
}

fn parse(text: &str) -> Option<Parsed> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return None;
    }
    // Trailing zeros of the fraction carry no value; dropping them keeps long inputs in range.
    let fraction = fraction.trim_end_matches('0');
    let mut mantissa: u128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(u128::from(digit - b'0'))?;
    }
    let scale = i32::try_from(fraction.len()).ok()?;
    let (pow10, pow2) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        exponent => {
            let digits = exponent
                .strip_prefix('e')
                .or_else(|| exponent.strip_prefix('E'))?;
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (digits.parse::<i32>().ok()?, 0)
        }
    };
    Some(Parsed {
        mantissa,
        pow10: pow10.checked_sub(scale)?,
        pow2,
    })
}

/// The quantity in units of `10^unit` (-3: millis), rounded up as Kubernetes' `ScaledValue`
/// does (`kubectl top` shows 100001n as 1m, not 0m).
fn scaled(text: &str, unit: i32) -> Option<u64> {
    let Parsed {
        mantissa,
        pow10,
        pow2,
    } = parse(text)?;
    let value = mantissa.checked_mul(1u128.checked_shl(pow2)?)?;
    let exponent = pow10.checked_sub(unit)?;
    let scaled = if exponent >= 0 {
        value.checked_mul(10u128.checked_pow(exponent.unsigned_abs())?)?
    } else {
        match 10u128.checked_pow(exponent.unsigned_abs()) {
            Some(divisor) => value.div_ceil(divisor),
            // Smaller than one unit: rounds up to one, unless it is zero.
            None => u128::from(value > 0),
        }
    };
    u64::try_from(scaled).ok()
}

/// CPU in millicores: `250m` → 250, `1.5` → 1500, `100n` → 1 (rounded up), `2k` → 2,000,000.
pub fn cpu_millis(q: &str) -> Option<u64> {
    scaled(q, -3)
}

/// Memory in bytes: `128Mi`, `1Gi`, `1G`, `123456Ki`, `1e3`, `1024`.
pub fn memory_bytes(q: &str) -> Option<u64> {
    scaled(q, 0)
}

/// As `kubectl top` prints CPU: millicores, `250m`.
pub fn format_cpu(millis: u64) -> String {
    format!("{millis}m")
}

/// Binary units, one decimal below 10 (`1.9Gi`, `512Mi`, `900Ki`, `2Gi`), rounded to the
/// nearest shown digit; below 1Ki in bytes (`512B`).
pub fn format_memory(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let Some((power, unit)) = UNITS
        .iter()
        .enumerate()
        .rev()
        .map(|(i, unit)| (10 * (i as u32 + 1), *unit))
        .find(|(power, _)| bytes >> power > 0)
    else {
        return format!("{bytes}B");
    };
    // In u128 so neither the tenths nor the rounding can overflow.
    let value = u128::from(bytes);
    let half = 1u128 << (power - 1);
    let tenths = (value * 10 + half) >> power;
    if tenths < 100 {
        if tenths.is_multiple_of(10) {
            format!("{}{unit}", tenths / 10)
        } else {
            format!("{}.{}{unit}", tenths / 10, tenths % 10)
        }
    } else {
        format!("{}{unit}", (value + half) >> power)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_in_every_notation() {
        let cases = [
            ("250m", Some(250)),
            ("1", Some(1000)),
            ("1.5", Some(1500)),
            ("0.1", Some(100)),
            (".5", Some(500)),
            ("2.", Some(2000)),
            ("100n", Some(1)),
            ("0n", Some(0)),
            ("250000000n", Some(250)),
            ("250000001n", Some(251)),
            ("1500u", Some(2)),
            ("2k", Some(2_000_000)),
            ("1e3", Some(1_000_000)),
            ("1e-3", Some(1)),
            ("1.000000000000000000000000000000000000000000", Some(1000)),
            ("+4", Some(4000)),
            (" 3 ", Some(3000)),
        ];
        for (text, millis) in cases {
            assert_eq!(cpu_millis(text), millis, "{text}");
        }
    }

    #[test]
    fn memory_in_every_notation() {
        let cases = [
            ("128Mi", Some(128 << 20)),
            ("1Gi", Some(1 << 30)),
            ("1G", Some(1_000_000_000)),
            ("123456Ki", Some(123_456 * 1024)),
            ("1e3", Some(1000)),
            ("1E3", Some(1000)),
            ("1E", Some(1_000_000_000_000_000_000)),
            ("1024", Some(1024)),
            ("1.5Gi", Some(3 << 29)),
            ("500m", Some(1)),
            ("8Ei", Some(1 << 63)),
            ("16Ei", None),
        ];
        for (text, bytes) in cases {
            assert_eq!(memory_bytes(text), bytes, "{text}");
        }
        assert_eq!(memory_bytes("7Ei"), Some(7 << 60));
    }

    #[test]
    fn junk_is_none_not_a_panic() {
        for junk in [
            "",
            " ",
            ".",
            "m",
            "-1",
            "1.2.3",
            "1Xi",
            "1 Gi",
            "1e",
            "1e+",
            "1e99999999999",
            "1ee3",
            "Ki",
            "1KiB",
            "١",
            "1e400",
            "99999999999999999999999999999999999999999999",
        ] {
            assert_eq!(memory_bytes(junk), None, "{junk:?}");
            assert_eq!(cpu_millis(junk), None, "{junk:?}");
        }
        assert_eq!(memory_bytes("1e-400"), Some(1), "tiny rounds up to one");
        assert_eq!(cpu_millis("0e-400"), Some(0));
    }

    #[test]
    fn formats_as_kubectl_top_reads() {
        assert_eq!(format_cpu(250), "250m");
        assert_eq!(format_cpu(0), "0m");
        let cases = [
            (0, "0B"),
            (900, "900B"),
            (900 << 10, "900Ki"),
            (512 << 20, "512Mi"),
            (2 << 30, "2Gi"),
            ((19 << 30) / 10 + 1, "1.9Gi"),
            ((1 << 30) * 199 / 100, "2Gi"),
            ((1 << 30) * 12 / 10, "1.2Gi"),
            ((1 << 30) * 996 / 100, "10Gi"),
            ((512 << 20) + (700 << 10), "513Mi"),
            (1536 << 10, "1.5Mi"),
            (10 << 30, "10Gi"),
            (u64::MAX, "16Ei"),
        ];
        for (bytes, text) in cases {
            assert_eq!(format_memory(bytes), text, "{bytes}");
        }
    }
}
