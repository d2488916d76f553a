//! The matrix in a few lines, for the terminal.

use std::fmt::Write;

use super::Matrix;
use super::labels::outcome_label;

/// The terminal's closing lines: each implementation's counts, each cell's, and the verdict.
pub fn summary(matrix: &Matrix) -> String {
    let mut out = String::new();
    for implementation in &matrix.implementations {
        match matrix.own_counts(implementation) {
            Some(counts) => {
                let shown: Vec<String> = counts
                    .summary
                    .counts()
                    .iter()
                    .map(|(word, count)| format!("{count} {word}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "{} ({}): {} fixtures: {}",
                    implementation.name,
                    implementation.role.label(),
                    counts.fixtures,
                    shown.join(", ")
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "{} ({}): {}",
                    implementation.name,
                    implementation.role.label(),
                    outcome_label(implementation)
                );
            }
        }
    }
    for cell in matrix.cells() {
        let _ = writeln!(
            out,
            "{} × {}: {}",
            cell.client.name,
            cell.broker.name,
            cell.text()
        );
    }
    let _ = writeln!(
        out,
        "matrix: {} implementations, {} unexpected",
        matrix.implementations.len(),
        matrix.unexpected()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::super::sample::sample;
    use super::*;

    #[test]
    fn summary_snapshot() {
        insta::assert_snapshot!(summary(&sample()));
    }
}
