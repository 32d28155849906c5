//! What `watch` prints while it follows a change. Every step reached is one
//! line (through the receipt's one formatter); on a terminal a progress
//! line under them says where the change stands and for how long, redrawn
//! in place (`\r`, the line erased first). Piped, only the step lines and
//! the outcome are printed, so a log reads one line per step.

use super::standing::Verdict;
use super::worker::Look;
use crate::cli::timeline::{duration, step_line};
use invalidator_core::workflow::StepName;
use invalidator_core::Timestamp;
use std::io::Write;
use std::time::Duration;

/// Erases the terminal line the cursor is on and returns to its start.
const ERASE_LINE: &str = "\r\x1b[2K";
/// The progress line's spinner, one frame a redraw.
const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

pub struct Display {
    terminal: bool,
    frame: usize,
    followed: Option<String>,
    /// Steps printed: distribution, step, when.
    printed: Vec<(String, StepName, Timestamp)>,
    said_waiting: bool,
}

impl Display {
    pub fn new(terminal: bool) -> Self {
        Display { terminal, frame: 0, followed: None, printed: Vec::new(), said_waiting: false }
    }

    /// Shows `look` after `elapsed`: new step lines, then the progress line.
    pub fn show(&mut self, id: &str, look: &Look, verdict: &Verdict, elapsed: Duration) {
        let mut out = String::new();
        if let Some(first) = look.first() {
            if self.followed.as_deref() != Some(&first.change.tracking_id) {
                self.followed = Some(first.change.tracking_id.clone());
                out.push_str(&heading(id, look));
            }
        } else if !self.said_waiting {
            self.said_waiting = true;
            out.push_str(&format!("{id}: not known to the Worker yet, waiting for it\n"));
        }
        let prefix = look.len() > 1;
        for s in look {
            for step in &s.change.receipt {
                let key = (s.distribution.clone(), step.step, step.at);
                if !self.printed.contains(&key) {
                    self.printed.push(key);
                    let on = if prefix { format!("{} ", s.distribution) } else { String::new() };
                    out.push_str(&format!("  {on}{}\n", step_line(step)));
                }
            }
        }
        if self.terminal {
            self.frame += 1;
            let spin = SPINNER[self.frame % SPINNER.len()];
            let now = match verdict {
                Verdict::NotSeen => "waiting for the webhook".to_string(),
                Verdict::OnItsWay(standing) => standing.to_string(),
                Verdict::Live => "live".to_string(),
                Verdict::Ended(_) => "ended".to_string(),
            };
            let line = format!("{spin} {id}: {now}, {}", duration(elapsed.as_millis() as u64));
            print!("{ERASE_LINE}{out}{line}");
        } else {
            print!("{out}");
        }
        let _ = std::io::stdout().flush();
    }

    /// Ends the progress line, so what follows starts on a line of its own.
    pub fn finish(&self) {
        if self.terminal {
            print!("{ERASE_LINE}");
            let _ = std::io::stdout().flush();
        }
    }
}

/// `following <tracking-id> (entry hero-banner, page, publish)`.
fn heading(id: &str, look: &Look) -> String {
    let change = &look[0].change;
    let about = match &change.label {
        Some(l) => {
            let ct = l.content_type.as_deref().map(|c| format!(", {c}")).unwrap_or_default();
            let action = serde_json::to_value(l.action).ok().and_then(|v| v.as_str().map(String::from));
            format!(" (entry {}{ct}{})", l.entry_id, action.map(|a| format!(", {a}")).unwrap_or_default())
        }
        None => String::new(),
    };
    let distributions: Vec<&str> = look.iter().map(|s| s.distribution.as_str()).collect();
    format!("{id}: following change {}{about} on {}\n", change.tracking_id, distributions.join(", "))
}
