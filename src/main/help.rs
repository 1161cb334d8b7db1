//! `assetlib --help` (the binary's): its commands in groups, one line each — the server's, and
//! the client's (the same binary talking to a server).

use clap::Command;

/// The groups in the order shown, each with its commands in order.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Server commands",
        &["serve", "worker", "keys", "fsck", "backup", "migrate"],
    ),
    ("Client commands", super::client::NAMES),
];

/// `command` with a help text that lists its subcommands by group.
pub fn grouped(command: Command) -> Command {
    let row = |sub: &Command| (sub.get_name().to_owned(), about(sub));
    let mut sections: Vec<(&str, Vec<(String, String)>)> = GROUPS
        .iter()
        .map(|(heading, names)| {
            let rows = names
                .iter()
                .filter_map(|name| command.find_subcommand(name))
                .map(row)
                .collect();
            (*heading, rows)
        })
        .collect();
    let mut others: Vec<(String, String)> = command
        .get_subcommands()
        .filter(|sub| {
            !GROUPS
                .iter()
                .any(|(_, names)| names.contains(&sub.get_name()))
        })
        .map(row)
        .collect();
    others.push((
        "help".to_owned(),
        "Print this help, or a command's (assetlib help serve)".to_owned(),
    ));
    sections.push(("Other commands", others));
    let width = sections
        .iter()
        .flat_map(|(_, rows)| rows)
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (heading, rows) in &sections {
        text.push_str(&format!("{heading}:\n"));
        for (name, about) in rows {
            text.push_str(&format!("  {name:<width$}  {about}\n"));
        }
        text.push('\n');
    }
    command.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{text}Options:\n{{options}}{{after-help}}"
    ))
}

fn about(command: &Command) -> String {
    command
        .get_about()
        .map(|about| about.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn help_groups_the_commands_one_line_each() {
        let help = super::grouped(crate::Cli::command())
            .render_help()
            .to_string();
        let server = help.find("Server commands:").expect("server heading");
        let options = help.find("Options:").expect("options heading");
        assert!(server < options, "{help}");
        for (name, about) in [
            ("serve", "Run the server"),
            ("worker", "Run processing workers only"),
            ("keys", "Manage API keys"),
            ("fsck", "Check metadata against blobs"),
            ("help", "Print this help"),
        ] {
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no {name} line in\n{help}"));
            assert!(line.contains(about), "{line}");
        }
        // fsck's exit statuses stay in `assetlib help fsck`, out of the one-line list.
        assert!(!help.contains("Exit status"), "{help}");
        assert!(help.lines().all(|l| l.len() <= 100), "{help}");
    }
}
