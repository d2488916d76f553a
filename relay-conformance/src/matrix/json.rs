//! The matrix as JSON (`docs/matrix/matrix.json`).

use serde::Serialize;

use super::{CellCounts, Compat, Matrix};

/// The matrix as pretty JSON, with a trailing newline: the metadata, the fixtures, every
/// implementation with its run report (or why it was not run), and each cell's counts and fixture
/// verdicts.
pub fn json(matrix: &Matrix) -> String {
    #[derive(Serialize)]
    struct CellJson<'m> {
        client: &'m str,
        broker: &'m str,
        available: bool,
        counts: CellCounts,
        fixtures: Vec<CellFixture<'m>>,
    }
    #[derive(Serialize)]
    struct CellFixture<'m> {
        id: &'m str,
        compat: Compat,
    }
    #[derive(Serialize)]
    struct MatrixJson<'m> {
        format: &'static str,
        #[serde(flatten)]
        matrix: &'m Matrix,
        cells: Vec<CellJson<'m>>,
    }
    let cells = matrix
        .cells()
        .into_iter()
        .map(|cell| CellJson {
            client: &cell.client.name,
            broker: &cell.broker.name,
            available: cell.available(),
            counts: cell.counts(),
            fixtures: cell
                .entries
                .iter()
                .map(|entry| CellFixture {
                    id: &entry.fixture.id,
                    compat: entry.compat,
                })
                .collect(),
        })
        .collect();
    let document = MatrixJson {
        format: "relay-conformance-matrix/1",
        matrix,
        cells,
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_else(|error| {
        format!("{{\"error\": \"the matrix cannot be serialised: {error}\"}}")
    });
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::super::sample::sample;
    use super::*;

    #[test]
    fn json_has_the_runs_and_the_cells() {
        let value: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        assert_eq!(value["format"], "relay-conformance-matrix/1");
        assert_eq!(value["implementations"].as_array().unwrap().len(), 5);
        assert_eq!(
            value["implementations"][0]["run"]["ran"]["results"][1]["expectation"]["verdict"],
            "known"
        );
        assert_eq!(
            value["implementations"][4]["run"]["unavailable"],
            "not installed: run adapters/python/install"
        );
        assert_eq!(value["cells"][0]["counts"]["known"], 1);
        assert_eq!(value["cells"][0]["fixtures"][1]["compat"], "known");
        assert_eq!(value["fixtures"][2]["brokers"], ">=3.2.18");
    }
}
