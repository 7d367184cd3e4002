//! Tokenize a file, line by line, with the BlenderBot-small tokenizer of a directory holding
//! `vocab.json` and `merges.txt`: one JSON list of ids per line of the file (a line ends at
//! "\n", which is not part of it), in order; a summary goes to stderr.
//!
//! ```text
//! cargo run --release --example tokenize_file -- python/bbtok/data/sample_checkpoint fixtures/multilingual.txt
//! ```

use bbtok::Tokenizer;
use std::error::Error;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tokenize_file: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(vocab_dir), Some(file), None) = (args.next(), args.next(), args.next()) else {
        return Err("usage: tokenize_file VOCAB_DIR FILE".into());
    };
    let (vocab_dir, file) = (PathBuf::from(vocab_dir), PathBuf::from(file));
    let (tokenizer, warnings) =
        Tokenizer::from_files(&vocab_dir.join("vocab.json"), &vocab_dir.join("merges.txt"))?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let text =
        std::fs::read_to_string(&file).map_err(|error| format!("{}: {error}", file.display()))?;
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .collect();
    let lines = if text.is_empty() { Vec::new() } else { lines };

    let started = Instant::now();
    let encoded = tokenizer.encode_batch(&lines, true)?;
    let elapsed = started.elapsed();

    let mut out = BufWriter::new(std::io::stdout().lock());
    for ids in &encoded {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        writeln!(out, "[{}]", ids.join(","))?;
    }
    out.flush()?;
    let tokens: usize = encoded.iter().map(Vec::len).sum();
    eprintln!(
        "{} lines, {tokens} tokens in {:.1} ms",
        lines.len(),
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
