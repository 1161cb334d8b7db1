//! Output of the one-shot commands when the reader is gone. `println!` panics when stdout is a
//! closed pipe (`assetlib ls | head -1` once head has exited); these macros end the command
//! quietly instead, with status 0: what was printed before reached the reader (the secret of
//! `keys create`, the first row of `ls`), and the command's work is done. SIGPIPE stays
//! ignored, so a socket the server closes mid-upload is an error the client reports, not a
//! signal that kills it. A closed stderr is ignored.

use std::io::{ErrorKind, Write};

/// Writes `text` to stdout; a closed pipe ends the process quietly.
pub fn out(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        // Any other failure (a full disk behind a redirect) is said once, where it can be.
        let _ = writeln!(std::io::stderr(), "assetlib: writing the output: {e}");
        std::process::exit(1);
    }
}

/// Writes `text` to stderr, ignoring a closed one.
pub fn err(text: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// `println!` that ends quietly on a closed pipe.
macro_rules! outln {
    () => { $crate::pipe::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::pipe::out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::pipe::err(format_args!("{}\n", format_args!($($arg)*))) };
}
