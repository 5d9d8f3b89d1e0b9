//! Languages: English and Simplified Chinese. The language comes from the
//! `lang` cookie (set by the switch link), else from Accept-Language
//! (RFC 9110 §12.5.4; `zh`, `zh-CN`, `zh-Hans`, `zh-SG` mean Simplified
//! Chinese), else from `[i18n] default_language`. Every visible string is
//! a key in `web/i18n/<lang>.toml`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::error::RaError;

/// A console language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// Every language, in switch order.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// The BCP 47 tag: `en`, `zh-CN` (also the catalog's file name).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language from a cookie value, an Accept-Language header and the
    /// configured fallback, in that order of precedence.
    pub fn negotiate(cookie: Option<&str>, accept: Option<&str>, fallback: Lang) -> Lang {
        if let Some(lang) = cookie.and_then(|c| c.parse().ok()) {
            return lang;
        }
        accept.and_then(from_accept_language).unwrap_or(fallback)
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Lang {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Lang::ALL.into_iter().find(|l| l.code() == s).ok_or(())
    }
}

/// The supported language a tag asks for, if any.
fn match_tag(tag: &str) -> Option<Lang> {
    let tag = tag.trim().to_ascii_lowercase();
    let primary = tag.split('-').next().unwrap_or("");
    match primary {
        "zh" => {
            // Traditional-script tags are not Simplified Chinese.
            let traditional = ["zh-tw", "zh-hk", "zh-mo", "zh-hant"]
                .iter()
                .any(|t| tag == *t || tag.starts_with(&format!("{t}-")));
            (!traditional).then_some(Lang::ZhCn)
        }
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The best supported language of an Accept-Language header: highest
/// weight first, earlier first among equals; `q=0` means "not this".
fn from_accept_language(header: &str) -> Option<Lang> {
    let mut ranges: Vec<(u16, usize, &str)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let mut weight = 1000u16;
            for p in pieces {
                if let Some(q) = p.trim().strip_prefix("q=") {
                    weight = parse_qvalue(q)?;
                }
            }
            (!tag.is_empty() && weight > 0).then_some((weight, i, tag))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().find_map(|(_, _, tag)| match_tag(tag))
}

/// RFC 9110 §12.4.2 qvalue, in thousandths.
fn parse_qvalue(q: &str) -> Option<u16> {
    let q = q.trim();
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let frac_value: u16 = format!("{frac:0<3}").parse().ok()?;
    let value = int * 1000 + frac_value;
    (value <= 1000).then_some(value)
}

/// The translation tables, flattened to dotted keys
/// (`[login] title = ".."` is `login.title`).
#[derive(Debug)]
pub(crate) struct Catalogs {
    tables: HashMap<Lang, HashMap<String, String>>,
}

impl Catalogs {
    /// Loads the embedded `web/i18n/*.toml`.
    pub fn load() -> Result<Self, RaError> {
        let mut tables = HashMap::new();
        for (name, text) in crate::assets::CATALOGS {
            let Ok(lang) = name.parse::<Lang>() else {
                continue;
            };
            let value: toml::Table = toml::from_str(text).map_err(|e| RaError::Config {
                reason: format!("web/i18n/{name}.toml: {}", e.message()),
            })?;
            let mut flat = HashMap::new();
            flatten("", &value, &mut flat);
            tables.insert(lang, flat);
        }
        for lang in Lang::ALL {
            if !tables.contains_key(&lang) {
                return Err(RaError::Config {
                    reason: format!("no translation table for {lang}"),
                });
            }
        }
        Ok(Catalogs { tables })
    }

    /// The text of `key` in `lang`; English if missing there, else the key
    /// itself (a visible, greppable mistake rather than an empty string).
    pub fn get<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        self.tables
            .get(&lang)
            .and_then(|t| t.get(key))
            .or_else(|| self.tables.get(&Lang::En).and_then(|t| t.get(key)))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// Every key of `lang`'s table.
    #[cfg(test)]
    pub fn keys(&self, lang: Lang) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .tables
            .get(&lang)
            .map(|t| t.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let n = |c: Option<&str>, a: Option<&str>| Lang::negotiate(c, a, Lang::En);
        assert_eq!(n(None, Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::ZhCn);
        assert_eq!(n(None, Some("zh")), Lang::ZhCn);
        assert_eq!(n(None, Some("zh-Hans-CN")), Lang::ZhCn);
        assert_eq!(n(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(n(None, Some("fr-FR, zh-CN;q=0.5")), Lang::ZhCn);
        assert_eq!(n(None, Some("en;q=0.4, zh-CN;q=0.8")), Lang::ZhCn);
        assert_eq!(n(None, Some("zh-TW")), Lang::En);
        assert_eq!(n(None, Some("zh-CN;q=0")), Lang::En);
        assert_eq!(n(None, Some("de")), Lang::En);
        assert_eq!(n(None, None), Lang::En);
        assert_eq!(Lang::negotiate(None, None, Lang::ZhCn), Lang::ZhCn);
        // The cookie wins.
        assert_eq!(n(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(n(Some("zh-CN"), Some("en")), Lang::ZhCn);
        assert_eq!(n(Some("klingon"), Some("zh")), Lang::ZhCn);
    }

    #[test]
    fn both_tables_have_the_same_keys() {
        let c = Catalogs::load().unwrap();
        let en = c.keys(Lang::En);
        let zh = c.keys(Lang::ZhCn);
        let missing_zh: Vec<_> = en.iter().filter(|k| !zh.contains(k)).collect();
        let missing_en: Vec<_> = zh.iter().filter(|k| !en.contains(k)).collect();
        assert!(
            missing_zh.is_empty(),
            "missing in zh-CN.toml: {missing_zh:?}"
        );
        assert!(missing_en.is_empty(), "missing in en.toml: {missing_en:?}");
        assert_eq!(c.get(Lang::ZhCn, "login.title"), "登录");
        assert_eq!(c.get(Lang::En, "no.such.key"), "no.such.key");
    }

    /// Every `t("...")` in a template names a key of both tables.
    #[test]
    fn templates_use_only_known_keys() {
        let c = Catalogs::load().unwrap();
        let en = c.keys(Lang::En);
        let mut unknown = Vec::new();
        for (name, source) in crate::assets::TEMPLATES {
            for (at, _) in source.match_indices("t(\"") {
                let before = source[..at].chars().next_back().unwrap_or(' ');
                if before.is_alphanumeric() || before == '_' {
                    continue;
                }
                let rest = &source[at + 3..];
                let key = rest.split('"').next().unwrap_or("");
                // `t("role." ~ r)`: a prefix some keys must have.
                let known = if key.ends_with('.') {
                    en.iter().any(|k| k.starts_with(key))
                } else {
                    en.contains(&key)
                };
                if !known {
                    unknown.push(format!("{name}: {key}"));
                }
            }
        }
        assert!(unknown.is_empty(), "unknown translation keys: {unknown:?}");
    }
}
