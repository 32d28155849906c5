//! Settings for the native bodies: the process environment, optionally
//! overlaid by a `KEY=VALUE` file (the CLI's `--env-file`, whose values win).

use invalidator_core::settings::SettingsMap;
use std::path::Path;

/// The environment as a settings map.
pub fn from_environment() -> SettingsMap {
    std::env::vars().collect()
}

/// Parses a `KEY=VALUE` file: blank lines and `#` comments skipped, `export `
/// prefixes and matching surrounding quotes removed.
pub fn parse_env_file(text: &str) -> Result<SettingsMap, String> {
    let mut map = SettingsMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected KEY=VALUE", n + 1));
        };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("line {}: {key:?} is not a setting name", n + 1));
        }
        let value = value.trim();
        let unquoted =
            ['"', '\''].iter().find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q))).unwrap_or(value);
        map.insert(key.to_string(), unquoted.to_string());
    }
    Ok(map)
}

/// The environment with `file`'s settings on top.
pub fn with_env_file(file: Option<&Path>) -> Result<SettingsMap, String> {
    let mut map = from_environment();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let overlay = parse_env_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        map.extend(overlay);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_are_forgiving_but_not_sloppy() {
        let map = parse_env_file("# settings\n\nexport A=1\nB = \"two words\"\nC='x=y'\n").unwrap();
        assert_eq!(map["A"], "1");
        assert_eq!(map["B"], "two words");
        assert_eq!(map["C"], "x=y");
        assert!(parse_env_file("NOEQUALS").unwrap_err().contains("line 1"));
        assert!(parse_env_file("BAD KEY=1").is_err());
    }
}
