//! How strictly a line's JSON is read, as fixtures/README.md ("Lines: what a player reads") states
//! it for other implementations: the exact boundaries, so that the text cannot drift from the code.

use relay_protocol::{Line, classify};

/// A frame whose payload nests `depth` arrays (the envelope object is one level more).
fn nested(depth: usize) -> String {
    format!(
        r#"{{"v":1,"type":"ok","request_id":"r","payload":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[test]
fn nesting_of_127_levels_is_a_frame_and_128_is_malformed() {
    // 1 (the envelope) + 126 = 127 levels.
    assert!(matches!(classify(nested(126).as_bytes()), Line::Frame(_)));
    // 1 + 127 = 128 levels: past serde_json's recursion limit.
    assert!(matches!(
        classify(nested(127).as_bytes()),
        Line::Malformed { .. }
    ));
}

#[test]
fn escapes_must_form_valid_unicode() {
    let line = |text: &str| {
        format!(r#"{{"v":1,"type":"ok","request_id":"r","payload":{{"text":"{text}"}}}}"#)
    };
    assert!(matches!(
        classify(line(r"\ud83d\ude00").as_bytes()),
        Line::Frame(_)
    ));
    for lone in [r"\ud800", r"\udc00", r"\ud800x"] {
        assert!(
            matches!(classify(line(lone).as_bytes()), Line::Malformed { .. }),
            "{lone}"
        );
    }
}

#[test]
fn a_member_twice_is_malformed() {
    let line = r#"{"v":1,"type":"ok","type":"error","request_id":"r","payload":{}}"#;
    assert!(matches!(classify(line.as_bytes()), Line::Malformed { .. }));
}
